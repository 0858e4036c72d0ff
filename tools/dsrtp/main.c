/* dsrtp: the command-line tool. Dispatches to one subcommand per file. */
#include <stdio.h>
#include <string.h>

#include <dsrtp/dsrtp.h>

#include "cmd.h"

typedef struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
} subcommand;

static const subcommand commands[] = {
    {"peer", dsrtp_cmd_peer, "peer --role offer|answer ...  a whole endpoint, SDP through files"},
    {"demo", dsrtp_cmd_demo, "demo                      show the SRTP engine at work"},
    {"bench", dsrtp_cmd_bench, "bench srtp ...            time the SRTP transforms"},
    {"pcap", dsrtp_cmd_pcap, "pcap decrypt|encrypt ...  decrypt SRTP captures, or encrypt"},
    {"dtls", dsrtp_cmd_dtls, "dtls --listen|--connect A:P  one DTLS-SRTP handshake over UDP"},
    {"cert", dsrtp_cmd_cert, "cert --cert-out F --key-out F  new DTLS certificate and key"},
    {"sdp", dsrtp_cmd_sdp, "sdp inspect FILE          an SDP's media and keying as JSON"},
    {NULL, NULL, NULL},
};

static int usage(FILE *f)
{
    fprintf(f, "dsrtp %s: DTLS-SRTP media keying\nusage: dsrtp COMMAND [options]\n",
            dsrtp_version());
    for (const subcommand *c = commands; c->name != NULL; c++) {
        fprintf(f, "  dsrtp %s\n", c->usage);
    }
    return f == stderr ? 2 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        return usage(stderr);
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        return usage(stdout);
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("dsrtp %s\n", dsrtp_version());
        return 0;
    }
    for (const subcommand *c = commands; c->name != NULL; c++) {
        if (strcmp(argv[1], c->name) == 0) {
            return c->run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "dsrtp: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
