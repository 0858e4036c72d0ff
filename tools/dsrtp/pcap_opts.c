/* Command line and keys of `dsrtp pcap`: options, profile names, and SDES/hex keys
 * ("inline:" base64 key||salt with optional "|lifetime|mki:length", a whole a=crypto line,
 * or hex). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <dsrtp/util.h>

#include "pcap_tool.h"

static const char pcap_usage_text[] =
    "usage: dsrtp pcap decrypt|encrypt --profile P --key KEY [options] IN OUT\n"
    "  Reads IN (pcap or pcapng; Ethernet, Linux SLL/SLL2, raw IP, loopback; IPv4/IPv6)\n"
    "  and writes OUT (pcap, same link type) with SRTP/SRTCP decrypted, or plain RTP/RTCP\n"
    "  encrypted. STUN, DTLS and other traffic is copied unchanged; packets that fail\n"
    "  authentication, replays and malformed ones are counted, never written. IN or OUT\n"
    "  may be '-'. OUT has nanosecond time stamps unless IN is microsecond pcap.\n"
    "  --profile P     AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32,\n"
    "                  AES_256_CM_HMAC_SHA1_80, AES_256_CM_HMAC_SHA1_32, AEAD_AES_128_GCM,\n"
    "                  AEAD_AES_256_GCM (may be left out if KEY is a whole a=crypto line)\n"
    "  --key KEY       master key||salt: SDES base64 ('inline:' prefix, '|2^31|1:4'\n"
    "                  lifetime/MKI suffix and a whole 'a=crypto:...' line accepted), or hex\n"
    "                  ('hex:' prefix, or detected by length). decrypt takes up to 8 keys\n"
    "                  (one per direction with SDES); each flow uses whichever verifies\n"
    "  --ssrc N        only this SSRC (decimal or 0x hex); others are skipped, not written\n"
    "  --port N        only UDP flows with this port at either end (repeatable); by default\n"
    "                  every UDP flow with both ports >= 1024\n"
    "  --roc N         rollover counter of every stream at its first packet (captures that\n"
    "                  start more than 65536 packets into a call)\n"
    "  --max-streams N SSRCs per flow direction (default 64)\n"
    "  --plain-srtcp   encrypt: send SRTCP with the E flag clear (authenticated only)\n"
    "  --json          print the summary as JSON on stdout\n"
    "  -v, --verbose   list every flow in the summary\n"
    "  Exit status: 0 done (refused packets are reported, not fatal), 1 I/O error,\n"
    "  2 usage error.\n";

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 1, 2)))
#endif
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "pcap: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(run 'dsrtp pcap --help' for usage)\n");
    va_end(ap);
    return PCAP_EXIT_USAGE;
}

/* Decimal, or hex after 0x; the whole text must be a number no larger than max. */
static bool parse_number(const char *text, uint64_t max, uint64_t *out)
{
    int base = 10;
    const char *p = text;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    if (*p == '\0') {
        return false;
    }
    uint64_t v = 0;
    for (; *p != '\0'; p++) {
        int d = -1;
        if (*p >= '0' && *p <= '9') {
            d = *p - '0';
        } else if (base == 16 && *p >= 'a' && *p <= 'f') {
            d = *p - 'a' + 10;
        } else if (base == 16 && *p >= 'A' && *p <= 'F') {
            d = *p - 'A' + 10;
        }
        if (d < 0 || v > (max - (uint64_t)d) / (uint64_t)base) {
            return false;
        }
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *out = v;
    return true;
}

/* Profile names as SDES spells them, and the DTLS-SRTP names (RFC 5764, OpenSSL) people
 * copy out of logs. Case does not matter. */
static bool profile_lookup(const char *name, size_t len, dsrtp_profile *out)
{
    static const struct {
        const char *name;
        dsrtp_profile p;
    } aliases[] = {
        {"SRTP_AES128_CM_HMAC_SHA1_80", DSRTP_AES_CM_128_HMAC_SHA1_80},
        {"SRTP_AES128_CM_SHA1_80", DSRTP_AES_CM_128_HMAC_SHA1_80},
        {"SRTP_AES128_CM_HMAC_SHA1_32", DSRTP_AES_CM_128_HMAC_SHA1_32},
        {"SRTP_AES128_CM_SHA1_32", DSRTP_AES_CM_128_HMAC_SHA1_32},
        {"SRTP_AEAD_AES_128_GCM", DSRTP_AEAD_AES_128_GCM},
        {"SRTP_AEAD_AES_256_GCM", DSRTP_AEAD_AES_256_GCM},
    };
    for (int p = DSRTP_PROFILE_NONE + 1; p < DSRTP_PROFILE_COUNT; p++) {
        const char *n = dsrtp_profile_name((dsrtp_profile)p);
        if (strlen(n) == len && strncasecmp(n, name, len) == 0) {
            *out = (dsrtp_profile)p;
            return true;
        }
    }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strlen(aliases[i].name) == len && strncasecmp(aliases[i].name, name, len) == 0) {
            *out = aliases[i].p;
            return true;
        }
    }
    return false;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A whole "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:..." line names its profile. */
static bool profile_from_crypto_line(const char *text, dsrtp_profile *out)
{
    const char *p = text;
    while (*p != '\0') {
        while (is_space(*p)) {
            p++;
        }
        const char *tok = p;
        while (*p != '\0' && !is_space(*p)) {
            p++;
        }
        if (p > tok && profile_lookup(tok, (size_t)(p - tok), out)) {
            return true;
        }
    }
    return false;
}

/* "2^20" or a plain count: the SDES key lifetime, accepted and not enforced. */
static bool lifetime_valid(const char *s, size_t n)
{
    size_t i = 0;
    if (n > 2 && s[0] == '2' && s[1] == '^') {
        i = 2;
    }
    if (i == n) {
        return false;
    }
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

/* "value:length" (RFC 4568 §6.1): the MKI value as a big-endian integer of length bytes. */
static bool mki_parse(const char *s, size_t n, pcap_key *k)
{
    char buf[48];
    if (n >= sizeof buf) {
        return false;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *colon = strchr(buf, ':');
    if (colon == NULL) {
        return false;
    }
    *colon = '\0';
    uint64_t value = 0;
    uint64_t len = 0;
    /* Decimal only, as SDES writes it. */
    if (strspn(buf, "0123456789") != strlen(buf) ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
        return false;
    }
    if (!parse_number(buf, UINT64_MAX, &value) || !parse_number(colon + 1, 1000, &len) ||
        len < 1 || len > DSRTP_SRTP_MAX_MKI_LEN) {
        return false;
    }
    if (len < 8 && (value >> (8 * len)) != 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        size_t shift = 8 * (len - 1 - i);
        k->mki[i] = shift < 64 ? (uint8_t)(value >> shift) : 0;
    }
    k->mki_len = (size_t)len;
    return true;
}

/* Decodes the key||salt text body (hex or base64) into exactly need bytes. */
static bool key_decode(const char *s, size_t n, int forced, size_t need, pcap_key *k)
{
    uint8_t tmp[128];
    size_t got = 0;
    bool ok = false;
    if (forced != 'b' && dsrtp_hex_decode(s, n, tmp, sizeof tmp, &got) == DSRTP_OK &&
        (forced == 'h' || got == need)) {
        ok = got == need;
    } else if (forced != 'h' && dsrtp_base64_decode(s, n, tmp, sizeof tmp, &got) == DSRTP_OK) {
        ok = got == need;
    }
    if (ok) {
        memcpy(k->key_salt, tmp, need);
    }
    dsrtp_secure_wipe(tmp, sizeof tmp);
    return ok;
}

/* Parses one --key value for profile p. Returns 0 or PCAP_EXIT_USAGE (with a message that
 * never repeats the key). */
static int key_parse(const char *text, dsrtp_profile p, pcap_key *k)
{
    size_t need = dsrtp_profile_key_len(p) + dsrtp_profile_salt_len(p);
    const char *s = strstr(text, "inline:");
    int forced = 0;
    if (s != NULL) {
        s += strlen("inline:");
        forced = 'b';
    } else {
        s = text;
        while (is_space(*s)) {
            s++;
        }
        if (strncasecmp(s, "hex:", 4) == 0) {
            s += 4;
            forced = 'h';
        } else if (strncasecmp(s, "base64:", 7) == 0) {
            s += 7;
            forced = 'b';
        }
    }
    /* The key runs to the first '|' (parameters), ';' (another key) or blank. */
    size_t body = strcspn(s, "|; \t\r\n");
    *k = (pcap_key){0};
    if (!key_decode(s, body, forced, need, k)) {
        return usage_error("--key: %s needs %zu bytes of key||salt (%zu-byte key, %zu-byte "
                           "salt) in base64 or hex",
                           dsrtp_profile_name(p), need, dsrtp_profile_key_len(p),
                           dsrtp_profile_salt_len(p));
    }
    const char *q = s + body;
    bool have_lifetime = false;
    while (*q == '|') {
        q++;
        size_t n = strcspn(q, "|; \t\r\n");
        if (memchr(q, ':', n) != NULL) {
            if (k->mki_len != 0 || !mki_parse(q, n, k)) {
                dsrtp_secure_wipe(k, sizeof *k);
                return usage_error("--key: bad MKI: expected '|value:length', length 1..%d",
                                   DSRTP_SRTP_MAX_MKI_LEN);
            }
        } else if (have_lifetime || k->mki_len != 0 || !lifetime_valid(q, n)) {
            dsrtp_secure_wipe(k, sizeof *k);
            return usage_error("--key: bad key parameter: expected '|2^N' lifetime, then "
                               "'|value:length' MKI");
        } else {
            have_lifetime = true;
        }
        q += n;
    }
    return 0;
}

/* Returns the value of option name at argv[*i] ("--name V" or "--name=V") and moves *i
 * past it; NULL if argv[*i] is not that option. *missing is set when V is absent. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0) {
        return NULL;
    }
    if (a[n] == '=') {
        return a + n + 1;
    }
    if (a[n] != '\0') {
        return NULL;
    }
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    *i += 1;
    return argv[*i];
}

int pcap_opts_parse(int argc, char **argv, pcap_opts *o)
{
    const char *positional[3] = {NULL, NULL, NULL};
    int npos = 0;
    const char *profile = NULL;
    o->max_streams = PCAP_DEFAULT_STREAMS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        bool missing = false;
        uint64_t num = 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(pcap_usage_text, stdout);
            return -1;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            o->verbose = true;
        } else if (strcmp(a, "--plain-srtcp") == 0) {
            o->plain_srtcp = true;
        } else if ((v = opt_value(argc, argv, &i, "--profile", &missing)) != NULL) {
            profile = v;
        } else if ((v = opt_value(argc, argv, &i, "--key", &missing)) != NULL) {
            if (o->nkeys == PCAP_MAX_KEYS) {
                return usage_error("%s: at most 8 keys", "--key");
            }
            o->key_text[o->nkeys++] = v;
        } else if ((v = opt_value(argc, argv, &i, "--ssrc", &missing)) != NULL) {
            if (!parse_number(v, UINT32_MAX, &num)) {
                return usage_error("--ssrc: not a 32-bit number: %s", v);
            }
            o->ssrc_set = true;
            o->ssrc = (uint32_t)num;
        } else if ((v = opt_value(argc, argv, &i, "--roc", &missing)) != NULL) {
            if (!parse_number(v, UINT32_MAX, &num)) {
                return usage_error("--roc: not a 32-bit number: %s", v);
            }
            o->roc_set = true;
            o->roc = (uint32_t)num;
        } else if ((v = opt_value(argc, argv, &i, "--port", &missing)) != NULL) {
            if (!parse_number(v, 65535, &num) || num == 0) {
                return usage_error("--port: not a UDP port: %s", v);
            }
            if (o->nports == PCAP_MAX_PORTS) {
                return usage_error("%s: at most 32 ports", "--port");
            }
            o->ports[o->nports++] = (uint16_t)num;
        } else if ((v = opt_value(argc, argv, &i, "--max-streams", &missing)) != NULL) {
            if (!parse_number(v, PCAP_MAX_STREAMS, &num) || num == 0) {
                return usage_error("--max-streams: expected 1..65536, got %s", v);
            }
            o->max_streams = (size_t)num;
        } else if (missing) {
            return usage_error("%s needs a value", a);
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option %s", a);
        } else if (npos == 3) {
            return usage_error("unexpected argument %s", a);
        } else {
            positional[npos++] = a;
        }
    }
    if (npos == 0) {
        fputs(pcap_usage_text, stderr);
        return PCAP_EXIT_USAGE;
    }
    if (strcmp(positional[0], "decrypt") == 0) {
        o->encrypt = false;
    } else if (strcmp(positional[0], "encrypt") == 0) {
        o->encrypt = true;
    } else {
        return usage_error("unknown mode '%s' (decrypt or encrypt)", positional[0]);
    }
    if (npos != 3) {
        return usage_error("%s needs IN and OUT capture files", positional[0]);
    }
    o->in = positional[1];
    o->out = positional[2];
    if (o->nkeys == 0) {
        return usage_error("%s needs --key", positional[0]);
    }
    if (o->encrypt && o->nkeys > 1) {
        return usage_error("%s takes a single --key", "encrypt");
    }
    if (profile != NULL) {
        if (!profile_lookup(profile, strlen(profile), &o->profile)) {
            return usage_error("--profile: unknown profile '%s' (see dsrtp pcap --help)",
                               profile);
        }
    } else if (!profile_from_crypto_line(o->key_text[0], &o->profile)) {
        return usage_error("%s needs --profile", positional[0]);
    }
    for (size_t k = 0; k < o->nkeys; k++) {
        int rc = key_parse(o->key_text[k], o->profile, &o->keys[k]);
        if (rc != 0) {
            return rc;
        }
    }
    if (o->json && strcmp(o->out, "-") == 0) {
        return usage_error("--json writes to stdout, so OUT cannot be '%s'", "-");
    }
    struct stat si;
    struct stat so;
    if (strcmp(o->in, "-") != 0 && stat(o->in, &si) == 0 && stat(o->out, &so) == 0 &&
        si.st_dev == so.st_dev && si.st_ino == so.st_ino) {
        return usage_error("OUT is the same file as IN (%s)", o->in);
    }
    return 0;
}
