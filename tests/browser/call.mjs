// One WebRTC call from a headless Chromium, for tests/cli/test_browser_dsrtpd.sh.
//
//   node call.mjs --role offer|answer --local-sdp FILE --remote-sdp FILE [--seconds N]
//                 [--wait-remote S] [--chromium PATH]
//                 [--reoffers STEP,STEP.. [--step-seconds N]]
//                 [--media audio|audio,video|add-video [--step-seconds N]]
//
// Serves a tiny page on http://127.0.0.1:<free port>; the page takes the fake microphone and
// sends it as PCMU only, with no STUN server. As offerer it writes its offer to --local-sdp
// (temporary file, then rename) once ICE gathering is complete, then waits for the answer
// in --remote-sdp (the test script puts it there after the ng exchange). As answerer it
// waits for the offer in --remote-sdp first and writes its answer. After the connection is
// up the call runs for --seconds.
//
// --reoffers: then Chromium renegotiates, once per STEP, whatever its role was: "refresh"
// (createOffer/setLocalDescription again with nothing changed), "hold" (the transceiver's
// direction set to sendonly) or "resume" (back to sendrecv). For step S the offer goes to
// the --local-sdp path with ".S" before its extension (browser.sdp -> browser.S.sdp) and the
// answer is awaited in the --remote-sdp path named the same way (remote.S.sdp); an answer
// that setRemoteDescription rejects ends the run (exit 1, "error" names the step). After
// --step-seconds one JSON line per step ({"step": S, "before": {...}, "after": {...}}) gives
// the facts that tell whether the DTLS association survived: the RTCDtlsTransport object and
// getStats transport id, how often it has reached "connected", dtlsState, the selected
// candidate pair and its change count, both certificates' fingerprints, the transceiver's
// currentDirection and the audio packet counters.
//
// --media audio,video (offer role only, no --reoffers; for tests/cli/test_browser_video.sh):
// the page takes the fake camera too and offers two transceivers, audio (PCMU only) then
// video (VP8 only), with the default bundle policy ("balanced": a port per m-line, and
// a=group:BUNDLE over both); the last line then also has the video facts (inbound
// packetsReceived, framesDecoded, ...) and the audio ones under their own names. The
// default, --media audio, is the call described above, unchanged.
//
// --media add-video (offer role only, no --reoffers; for tests/cli/test_browser_video.sh):
// the call starts as audio only (the fake microphone, PCMU only, default bundle policy);
// after --seconds Chromium takes the fake camera, adds a video transceiver (VP8 only) and
// renegotiates: the offer goes to the --local-sdp path with ".addvideo" before its extension
// (browser.addvideo.sdp), the answer is awaited in remote.addvideo.sdp (named the same way
// as for --reoffers). After --step-seconds one JSON line {"step": "addvideo", "before":
// {...}, "after": {...}} gives, before the re-offer and after, the --reoffers facts (DTLS
// transport, connects, candidate pair, fingerprints, audio counters), the transceivers'
// mids and currentDirections, whether the video sender rides on the audio sender's
// RTCDtlsTransport (videoSameTransport) and the audio,video facts under "av"; the last line
// is then the audio,video one.
//
// Last, one JSON line of getStats() facts is printed on stdout. Exit 0 when the line was
// printed (the caller judges the values), 1 on any error (also a JSON line, with "error").
import fs from 'node:fs';
import http from 'node:http';
import { chromium } from 'playwright-core';

function parseArgs(argv) {
    const o = {
        role: 'offer', seconds: 4, waitRemote: 30, chromium: '/usr/bin/chromium', reoffers: [],
        stepSeconds: 1.5, media: 'audio',
    };
    for (let i = 0; i < argv.length; i += 2) {
        const k = argv[i], v = argv[i + 1];
        if (v === undefined) throw new Error(`missing value for ${k}`);
        if (k === '--role') o.role = v;
        else if (k === '--local-sdp') o.localSdp = v;
        else if (k === '--remote-sdp') o.remoteSdp = v;
        else if (k === '--seconds') o.seconds = Number(v);
        else if (k === '--wait-remote') o.waitRemote = Number(v);
        else if (k === '--chromium') o.chromium = v;
        else if (k === '--reoffers') o.reoffers = v.split(',').filter((x) => x !== '');
        else if (k === '--step-seconds') o.stepSeconds = Number(v);
        else if (k === '--media') o.media = v;
        else throw new Error(`unknown option ${k}`);
    }
    if (!o.localSdp || !o.remoteSdp) throw new Error('--local-sdp and --remote-sdp are required');
    if (o.role !== 'offer' && o.role !== 'answer') throw new Error('--role is offer or answer');
    if (o.media !== 'audio' && o.media !== 'audio,video' && o.media !== 'add-video') {
        throw new Error('--media is audio, audio,video or add-video');
    }
    if (o.media !== 'audio' && (o.role !== 'offer' || o.reoffers.length)) {
        throw new Error(`--media ${o.media} is for --role offer without --reoffers`);
    }
    for (const st of o.reoffers) {
        if (!['refresh', 'hold', 'resume', 'icerestart'].includes(st)) {
            throw new Error(`unknown step ${st}`);
        }
    }
    return o;
}

// The page: everything runs in the browser; node calls these functions with page.evaluate.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>dsrtp call</title></head>
<body><audio id="remote" autoplay></audio>
<script>
let pc = null;
let wasConnected = false;
let dtls = null;           // the first RTCDtlsTransport seen connected
let dtlsConnects = 0;      // times any of the sender's DTLS transports reached "connected"
let dtlsStates = [];       // every state change of those transports, in order
const watchDtls = () => {
    const t = pc.getSenders()[0] && pc.getSenders()[0].transport;
    if (!t || t.watched) return;
    t.watched = true;
    t.addEventListener('statechange', () => {
        dtlsStates.push(t.state);
        if (t.state === 'connected') {
            dtlsConnects++;
            if (!dtls) dtls = t;
        }
    });
    if (t.state === 'connected' && !dtls) { dtls = t; dtlsConnects++; }
};
const gathered = () => new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') resolve();
    });
});
// The microphone on the one audio transceiver (new, or the offer's), PCMU only.
const setupAudio = async (tr) => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const track = stream.getAudioTracks()[0];
    if (tr) {
        await tr.sender.replaceTrack(track);
        tr.sender.setStreams(stream);
        tr.direction = 'sendrecv';
    } else {
        tr = pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] });
    }
    const pcmu = RTCRtpReceiver.getCapabilities('audio').codecs
        .filter((c) => c.mimeType.toLowerCase() === 'audio/pcmu');
    tr.setCodecPreferences(pcmu);
};
const newPc = () => {
    // max-bundle, as most WebRTC applications set it: the remote offer must offer BUNDLE.
    pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
    pc.addEventListener('connectionstatechange', () => {
        if (pc.connectionState === 'connected') wasConnected = true;
    });
    pc.addEventListener('track', (e) => {
        const el = document.getElementById('remote');
        el.srcObject = e.streams[0] || new MediaStream([e.track]);
        el.play().catch(() => {});
    });
};
window.makeOffer = async () => {
    newPc();
    await setupAudio(null);
    await pc.setLocalDescription(await pc.createOffer());
    await gathered();
    return pc.localDescription.sdp;
};
window.applyAnswer = async (sdp) => {
    await pc.setRemoteDescription({ type: 'answer', sdp });
    watchDtls();
};
// A renegotiation from this side: refresh (nothing changed), hold (sendonly), resume,
// icerestart (new ICE credentials: RFC 8445 §9).
window.reoffer = async (step) => {
    const tr = pc.getTransceivers()[0];
    if (step === 'hold') tr.direction = 'sendonly';
    else if (step === 'resume') tr.direction = 'sendrecv';
    await pc.setLocalDescription(await pc.createOffer({ iceRestart: step === 'icerestart' }));
    await gathered();
    return pc.localDescription.sdp;
};
window.snapshot = async () => {
    watchDtls();
    const tr = pc.getTransceivers()[0];
    const out = {
        signalingState: pc.signalingState, currentDirection: tr.currentDirection,
        iceConnectionState: pc.iceConnectionState,
        sameDtlsTransport: dtls !== null && tr.sender.transport === dtls,
        dtlsTransportState: tr.sender.transport ? tr.sender.transport.state : null,
        dtlsConnects, dtlsStates: dtlsStates.join(' '),
        transportCount: 0, transportId: null, dtlsState: null, selectedPairId: null,
        selectedPairChanges: null, selectedPair: null, localFingerprint: null,
        remoteFingerprint: null, packetsReceived: 0, packetsSent: 0,
    };
    const report = await pc.getStats();
    const byId = new Map();
    report.forEach((s) => byId.set(s.id, s));
    report.forEach((s) => {
        if (s.type === 'transport') {
            out.transportCount++;
            out.transportId = s.id;
            out.dtlsState = s.dtlsState ?? null;
            out.selectedPairId = s.selectedCandidatePairId ?? null;
            out.selectedPairChanges = s.selectedCandidatePairChanges ?? null;
            const lc = byId.get(s.localCertificateId), rc = byId.get(s.remoteCertificateId);
            out.localFingerprint = lc ? lc.fingerprintAlgorithm + ' ' + lc.fingerprint : null;
            out.remoteFingerprint = rc ? rc.fingerprintAlgorithm + ' ' + rc.fingerprint : null;
            const pair = byId.get(s.selectedCandidatePairId);
            if (pair) {
                const l = byId.get(pair.localCandidateId), r = byId.get(pair.remoteCandidateId);
                out.selectedPair = (l ? l.address + ':' + l.port : '?') + '>' +
                    (r ? r.address + ':' + r.port : '?');
            }
        } else if (s.type === 'inbound-rtp' && s.kind === 'audio') {
            out.packetsReceived += s.packetsReceived || 0;
        } else if (s.type === 'outbound-rtp' && s.kind === 'audio') {
            out.packetsSent += s.packetsSent || 0;
        }
    });
    return out;
};
window.makeAnswer = async (sdp) => {
    newPc();
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await setupAudio(pc.getTransceivers()[0]);
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered();
    watchDtls();
    return pc.localDescription.sdp;
};
window.state = () => ({ connectionState: pc.connectionState, wasConnected });
// --media audio,video: fake microphone and camera, one transceiver each (audio PCMU only,
// video VP8 only), the default bundle policy; remote video goes to a <video> element.
const newPcAV = () => {
    pc = new RTCPeerConnection({ iceServers: [] });
    pc.addEventListener('connectionstatechange', () => {
        if (pc.connectionState === 'connected') wasConnected = true;
    });
    pc.addEventListener('track', (e) => {
        let el = document.getElementById('remote');
        if (e.track.kind === 'video') {
            el = document.createElement('video');
            el.autoplay = true;
            el.muted = true;
            document.body.appendChild(el);
        }
        el.srcObject = new MediaStream([e.track]);
        el.play().catch(() => {});
    });
};
const only = (kind, mime) => RTCRtpReceiver.getCapabilities(kind).codecs
    .filter((c) => c.mimeType.toLowerCase() === mime);
window.makeOfferAV = async () => {
    newPcAV();
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    const ta = pc.addTransceiver(stream.getAudioTracks()[0],
        { direction: 'sendrecv', streams: [stream] });
    ta.setCodecPreferences(only('audio', 'audio/pcmu'));
    const tv = pc.addTransceiver(stream.getVideoTracks()[0],
        { direction: 'sendrecv', streams: [stream] });
    tv.setCodecPreferences(only('video', 'video/vp8'));
    await pc.setLocalDescription(await pc.createOffer());
    await gathered();
    return pc.localDescription.sdp;
};
// --media add-video: the call starts with the audio transceiver alone (PCMU only, default
// bundle policy, as makeOfferAV); addVideo then adds the camera's (VP8 only) and re-offers.
window.makeOfferAudioFirst = async () => {
    newPcAV();
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const ta = pc.addTransceiver(stream.getAudioTracks()[0],
        { direction: 'sendrecv', streams: [stream] });
    ta.setCodecPreferences(only('audio', 'audio/pcmu'));
    await pc.setLocalDescription(await pc.createOffer());
    await gathered();
    return pc.localDescription.sdp;
};
window.addVideo = async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true });
    const tv = pc.addTransceiver(stream.getVideoTracks()[0],
        { direction: 'sendrecv', streams: [stream] });
    tv.setCodecPreferences(only('video', 'video/vp8'));
    await pc.setLocalDescription(await pc.createOffer());
    await gathered();
    return pc.localDescription.sdp;
};
window.snapshotAV = async () => {
    const out = await window.snapshot();
    const s = pc.getSenders();
    out.mids = pc.getTransceivers().map((t) => t.mid).join(' ');
    out.directions = pc.getTransceivers().map((t) => t.currentDirection).join(' ');
    out.videoSameTransport = s.length > 1 && s[1].transport !== null &&
        s[1].transport === s[0].transport;
    out.av = await window.collectAV();
    return out;
};
window.collectAV = async () => {
    const out = {
        connectionState: pc.connectionState, iceConnectionState: pc.iceConnectionState,
        wasConnected, transportCount: 0, dtlsState: null, srtpCipher: null, tlsVersion: null,
        dtlsRole: null, selectedPair: null,
        audioPacketsReceived: 0, audioPacketsSent: 0, audioCodec: null, audioSsrc: null,
        videoPacketsReceived: 0, videoPacketsSent: 0, videoCodec: null, videoSsrc: null,
        framesReceived: 0, framesDecoded: 0, keyFramesDecoded: 0, frameWidth: null,
        frameHeight: null, videoNackSent: 0, videoPliSent: 0, framesEncoded: 0,
        keyFramesEncoded: 0, videoNackReceived: 0, videoPliReceived: 0,
        mids: pc.getTransceivers().map((t) => t.mid).join(' '),
        // RTCP that came back: report blocks about our streams, SRs about the remote ones
        remoteInbound: [], remoteOutbound: [],
    };
    const report = await pc.getStats();
    const byId = new Map();
    report.forEach((s) => byId.set(s.id, s));
    const codec = (s) => { const c = byId.get(s.codecId); return c ? c.mimeType : null; };
    report.forEach((s) => {
        if (s.type === 'transport') {
            out.transportCount++;
            out.dtlsState = s.dtlsState ?? null;
            out.srtpCipher = s.srtpCipher ?? null;
            out.tlsVersion = s.tlsVersion ?? null;
            out.dtlsRole = s.dtlsRole ?? null;
            const pair = byId.get(s.selectedCandidatePairId);
            if (pair) {
                const l = byId.get(pair.localCandidateId), r = byId.get(pair.remoteCandidateId);
                out.selectedPair = (l ? l.address + ':' + l.port : '?') + '>' +
                    (r ? r.address + ':' + r.port : '?');
            }
        } else if (s.type === 'inbound-rtp' && s.kind === 'audio') {
            out.audioPacketsReceived += s.packetsReceived || 0;
            out.audioCodec = codec(s);
            out.audioSsrc = s.ssrc ?? null;
        } else if (s.type === 'outbound-rtp' && s.kind === 'audio') {
            out.audioPacketsSent += s.packetsSent || 0;
        } else if (s.type === 'inbound-rtp' && s.kind === 'video') {
            out.videoPacketsReceived += s.packetsReceived || 0;
            out.videoCodec = codec(s);
            out.videoSsrc = s.ssrc ?? null;
            out.framesReceived += s.framesReceived || 0;
            out.framesDecoded += s.framesDecoded || 0;
            out.keyFramesDecoded += s.keyFramesDecoded || 0;
            out.frameWidth = s.frameWidth ?? null;
            out.frameHeight = s.frameHeight ?? null;
            out.videoNackSent += s.nackCount || 0;
            out.videoPliSent += s.pliCount || 0;
        } else if (s.type === 'outbound-rtp' && s.kind === 'video') {
            out.videoPacketsSent += s.packetsSent || 0;
            out.framesEncoded += s.framesEncoded || 0;
            out.keyFramesEncoded += s.keyFramesEncoded || 0;
            out.videoNackReceived += s.nackCount || 0;
            out.videoPliReceived += s.pliCount || 0;
        } else if (s.type === 'remote-inbound-rtp') {
            out.remoteInbound.push(s.kind);
        } else if (s.type === 'remote-outbound-rtp') {
            out.remoteOutbound.push(s.kind);
        }
    });
    out.remoteInbound = out.remoteInbound.sort().join(' ');
    out.remoteOutbound = out.remoteOutbound.sort().join(' ');
    return out;
};
window.collect = async () => {
    const out = {
        connectionState: pc.connectionState, iceConnectionState: pc.iceConnectionState,
        wasConnected, dtlsState: null, srtpCipher: null, tlsVersion: null, dtlsRole: null,
        dtlsCipher: null, packetsReceived: 0, packetsSent: 0, codec: null,
        selectedPair: null,
    };
    const report = await pc.getStats();
    const byId = new Map();
    report.forEach((s) => byId.set(s.id, s));
    report.forEach((s) => {
        if (s.type === 'transport') {
            out.dtlsState = s.dtlsState ?? null;
            out.srtpCipher = s.srtpCipher ?? null;
            out.tlsVersion = s.tlsVersion ?? null;
            out.dtlsRole = s.dtlsRole ?? null;
            out.dtlsCipher = s.dtlsCipher ?? null;
            const pair = byId.get(s.selectedCandidatePairId);
            if (pair) {
                const l = byId.get(pair.localCandidateId), r = byId.get(pair.remoteCandidateId);
                out.selectedPair = {
                    state: pair.state, nominated: pair.nominated,
                    local: l ? l.address + ':' + l.port : null,
                    remote: r ? r.address + ':' + r.port : null,
                };
            }
        } else if (s.type === 'inbound-rtp' && s.kind === 'audio') {
            out.packetsReceived += s.packetsReceived || 0;
            const c = byId.get(s.codecId);
            if (c) out.codec = c.mimeType;
        } else if (s.type === 'outbound-rtp' && s.kind === 'audio') {
            out.packetsSent += s.packetsSent || 0;
        }
    });
    return out;
};
</script></body></html>`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFile(path, seconds) {
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until) {
        if (fs.existsSync(path)) return fs.readFileSync(path, 'utf8');
        await sleep(100);
    }
    throw new Error(`no remote SDP in ${path} after ${seconds} s`);
}

// browser.sdp -> browser.hold.sdp
function stepPath(path, step) {
    const dot = path.lastIndexOf('.');
    return dot > path.lastIndexOf('/') ? `${path.slice(0, dot)}.${step}${path.slice(dot)}`
        : `${path}.${step}`;
}

function writeAtomically(path, text) {
    fs.writeFileSync(path + '.tmp', text);
    fs.renameSync(path + '.tmp', path);
}

async function main() {
    const o = parseArgs(process.argv.slice(2));
    const server = http.createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(PAGE);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${server.address().port}/`;
    const browser = await chromium.launch({
        executablePath: o.chromium,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync',
            '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
            '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required'],
    });
    try {
        const page = await browser.newPage();
        page.on('console', (m) => process.stderr.write(`page: ${m.text()}\n`));
        page.on('pageerror', (e) => process.stderr.write(`page error: ${e}\n`));
        await page.goto(url);
        const av = o.media === 'audio,video';
        const add = o.media === 'add-video';
        if (o.role === 'offer') {
            writeAtomically(o.localSdp, await page.evaluate(
                ([v, a]) => (v ? window.makeOfferAV()
                    : a ? window.makeOfferAudioFirst() : window.makeOffer()), [av, add]));
            process.stderr.write('call.mjs: offer written\n');
            const answer = await waitFile(o.remoteSdp, o.waitRemote);
            await page.evaluate((sdp) => window.applyAnswer(sdp), answer);
            process.stderr.write('call.mjs: answer applied\n');
        } else {
            const offer = await waitFile(o.remoteSdp, o.waitRemote);
            writeAtomically(o.localSdp, await page.evaluate((sdp) => window.makeAnswer(sdp), offer));
            process.stderr.write('call.mjs: answer written\n');
        }
        // Up to 10 s to connect, then the call runs for --seconds.
        const until = Date.now() + 10000;
        while (Date.now() < until) {
            const st = await page.evaluate(() => window.state());
            if (st.connectionState === 'connected' || st.connectionState === 'failed') break;
            await sleep(100);
        }
        await sleep(o.seconds * 1000);
        if (add) {
            const step = 'addvideo';
            const before = await page.evaluate(() => window.snapshotAV());
            writeAtomically(stepPath(o.localSdp, step),
                await page.evaluate(() => window.addVideo()));
            process.stderr.write(`call.mjs: ${step} offer written\n`);
            const answer = await waitFile(stepPath(o.remoteSdp, step), o.waitRemote);
            try {
                await page.evaluate((sdp) => window.applyAnswer(sdp), answer);
            } catch (e) {
                throw new Error(`${step}: setRemoteDescription(answer) failed: ${e.message}`);
            }
            process.stderr.write(`call.mjs: ${step} answer applied\n`);
            await sleep(o.stepSeconds * 1000);
            const after = await page.evaluate(() => window.snapshotAV());
            console.log(JSON.stringify({ step, before, after }));
        }
        for (const step of o.reoffers) {
            const before = await page.evaluate(() => window.snapshot());
            const offer = await page.evaluate((st) => window.reoffer(st), step);
            writeAtomically(stepPath(o.localSdp, step), offer);
            process.stderr.write(`call.mjs: ${step} offer written\n`);
            const answer = await waitFile(stepPath(o.remoteSdp, step), o.waitRemote);
            try {
                await page.evaluate((sdp) => window.applyAnswer(sdp), answer);
            } catch (e) {
                throw new Error(`${step}: setRemoteDescription(answer) failed: ${e.message}`);
            }
            process.stderr.write(`call.mjs: ${step} answer applied\n`);
            await sleep(o.stepSeconds * 1000);
            const after = await page.evaluate(() => window.snapshot());
            console.log(JSON.stringify({ step, before, after }));
        }
        const stats = await page.evaluate((v) => (v ? window.collectAV() : window.collect()),
            av || add);
        console.log(JSON.stringify(stats));
    } finally {
        await browser.close();
        server.close();
    }
}

main().then(() => process.exit(0), (e) => {
    console.log(JSON.stringify({ error: String(e && e.message ? e.message : e) }));
    process.exit(1);
});
