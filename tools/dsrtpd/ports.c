/* The media port pool: even ports from --port-min..--port-max on --interface (the odd
 * port above each stays free: a leg without rtcp-mux binds it for RTCP). Ports are handed out
 * round-robin so that a port just released is not reused at once (late packets of the old
 * call would reach the new one). A port the kernel refuses (taken by another program) is
 * skipped. There is one pool (the root context's), shared by the workers under a mutex
 * that is taken at call setup and teardown only. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw.h"

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

int gw_ports_init(gw_ports *p, uint16_t min, uint16_t max)
{
    memset(p, 0, sizeof *p);
    if (min == 0 || max < min) {
        return -1;
    }
    p->min = (uint16_t)(min + (min & 1u)); /* first even port */
    p->max = max;
    if (p->max < p->min) {
        return -1;
    }
    p->count = (size_t)(p->max - p->min) / 2 + 1;
    p->used = calloc(p->count, 1);
    return p->used != NULL ? 0 : -1;
}

void gw_ports_clear(gw_ports *p)
{
    free(p->used);
    memset(p, 0, sizeof *p);
}

int gw_ports_take(gw *g, const dsrtp_addr *on, int *fd, uint16_t *port)
{
    gw_ports *p = &g->root->ports;
    int rc = -1;
    pthread_mutex_lock(&pool_lock);
    for (size_t tried = 0; tried < p->count; tried++) {
        size_t i = (p->next + tried) % p->count;
        if (p->used[i]) {
            continue;
        }
        dsrtp_addr a = *on;
        a.port = (uint16_t)(p->min + 2 * i);
        if (gw_udp_bind(&a, fd) != 0) {
            continue; /* in use by someone else */
        }
        p->used[i] = 1;
        p->in_use++;
        p->next = (i + 1) % p->count;
        *port = a.port;
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&pool_lock);
    return rc;
}

void gw_ports_give(gw_ports *p, uint16_t port)
{
    if (port < p->min || port > p->max || ((port - p->min) & 1u) != 0) {
        return;
    }
    size_t i = (size_t)(port - p->min) / 2;
    pthread_mutex_lock(&pool_lock);
    if (p->used[i]) {
        p->used[i] = 0;
        p->in_use--;
    }
    pthread_mutex_unlock(&pool_lock);
}

size_t gw_ports_free(gw_ports *p)
{
    pthread_mutex_lock(&pool_lock);
    size_t n = p->count - p->in_use;
    pthread_mutex_unlock(&pool_lock);
    return n;
}
