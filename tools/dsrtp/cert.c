/* `dsrtp cert`: makes a fresh self-signed DTLS certificate (ECDSA P-256, or RSA) and writes
 * it and its private key as PEM, then prints the certificate's SHA-256 fingerprint the way
 * SDP's a=fingerprint carries it. The key file is created with mode 0600 and the key text
 * is wiped from memory once written. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dsrtp/dtls.h>
#include <dsrtp/util.h>

#include "cmd.h"

#define PEM_CAP 32768 /* an RSA-8192 key is about 6.5 KB of PEM */

static const char cert_usage_text[] =
    "usage: dsrtp cert [--rsa BITS] --cert-out FILE --key-out FILE\n"
    "  Writes a new self-signed certificate and its private key (PEM; the key file gets\n"
    "  mode 0600) and prints the certificate's fingerprint as SDP writes it:\n"
    "  'sha-256 AB:CD:...'. ECDSA P-256 by default; --rsa BITS for RSA (2048..8192).\n"
    "  Exit status: 0 written, 1 could not generate or write, 2 usage error.\n";

static int cert_usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "dsrtp cert: %s%s%s\n(run 'dsrtp cert --help' for usage)\n", what,
            arg != NULL ? ": " : "", arg != NULL ? arg : "");
    return 2;
}

/* Creates or truncates path with the given mode (enforced also on an existing file) and
 * writes text into it. */
static bool write_text(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) {
        fprintf(stderr, "dsrtp cert: cannot create %s: %s\n", path, strerror(errno));
        return false;
    }
    bool ok = fchmod(fd, mode) == 0;
    size_t len = strlen(text);
    size_t done = 0;
    while (ok && done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        ok = n > 0;
        done += ok ? (size_t)n : 0;
    }
    if (close(fd) != 0) {
        ok = false;
    }
    if (!ok) {
        fprintf(stderr, "dsrtp cert: cannot write %s: %s\n", path, strerror(errno));
    }
    return ok;
}

int dsrtp_cmd_cert(int argc, char **argv)
{
    const char *cert_out = NULL;
    const char *key_out = NULL;
    unsigned rsa_bits = 0;
    bool rsa = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(cert_usage_text, stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            return cert_usage_error("unknown option or missing value", a);
        }
        const char *v = argv[++i];
        if (strcmp(a, "--cert-out") == 0) {
            cert_out = v;
        } else if (strcmp(a, "--key-out") == 0) {
            key_out = v;
        } else if (strcmp(a, "--rsa") == 0) {
            char *end = NULL;
            unsigned long bits = strtoul(v, &end, 10);
            if (end == v || *end != '\0' || v[0] == '-' || bits < 2048 || bits > 8192) {
                return cert_usage_error("--rsa wants a key size from 2048 to 8192", v);
            }
            rsa = true;
            rsa_bits = (unsigned)bits;
        } else {
            return cert_usage_error("unknown option", a);
        }
    }
    if (cert_out == NULL || key_out == NULL) {
        return cert_usage_error("--cert-out and --key-out are required", NULL);
    }
    dsrtp_cert *c = NULL;
    dsrtp_err err =
        dsrtp_cert_generate(rsa ? DSRTP_CERT_RSA : DSRTP_CERT_ECDSA_P256, rsa_bits, &c);
    if (err != DSRTP_OK) {
        fprintf(stderr, "dsrtp cert: cannot generate: %s\n", dsrtp_strerror(err));
        return 1;
    }
    char *cert_pem = malloc(PEM_CAP);
    char *key_pem = malloc(PEM_CAP);
    dsrtp_fingerprint fp;
    char fp_text[DSRTP_FINGERPRINT_TEXT_MAX];
    int rc = 1;
    if (cert_pem == NULL || key_pem == NULL) {
        fprintf(stderr, "dsrtp cert: out of memory\n");
    } else if ((err = dsrtp_cert_write_pem(c, cert_pem, PEM_CAP, key_pem, PEM_CAP)) !=
                   DSRTP_OK ||
               (err = dsrtp_cert_fingerprint(c, DSRTP_HASH_SHA256, &fp)) != DSRTP_OK ||
               (err = dsrtp_fingerprint_format(&fp, fp_text, sizeof fp_text)) != DSRTP_OK) {
        fprintf(stderr, "dsrtp cert: %s\n", dsrtp_strerror(err));
    } else if (write_text(key_out, key_pem, S_IRUSR | S_IWUSR) &&
               write_text(cert_out, cert_pem, S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH)) {
        printf("%s\n", fp_text);
        rc = 0;
    }
    if (key_pem != NULL) {
        dsrtp_secure_wipe(key_pem, PEM_CAP);
    }
    free(key_pem);
    free(cert_pem);
    dsrtp_cert_free(c);
    return rc;
}
