/* spoolctl_opts.c - spoolctl's command options: filters, --json, --limit, durations; every bad value a usage error. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "qid.h"
#include "spoolctl.h"

enum {
    OPT_STATE = 256,
    OPT_FROM,
    OPT_TO,
    OPT_DOMAIN,
    OPT_OLDER,
    OPT_MATCH,
    OPT_LIMIT,
    OPT_JSON,
    OPT_VERIFY,
    OPT_NO_AGE
};

static const struct option spoolctl_options[] = {{"state", required_argument, NULL, OPT_STATE},
                                                 {"from", required_argument, NULL, OPT_FROM},
                                                 {"to", required_argument, NULL, OPT_TO},
                                                 {"domain", required_argument, NULL, OPT_DOMAIN},
                                                 {"older-than", required_argument, NULL, OPT_OLDER},
                                                 {"match", required_argument, NULL, OPT_MATCH},
                                                 {"limit", required_argument, NULL, OPT_LIMIT},
                                                 {"json", no_argument, NULL, OPT_JSON},
                                                 {"verify", no_argument, NULL, OPT_VERIFY},
                                                 {"no-age", no_argument, NULL, OPT_NO_AGE},
                                                 {NULL, 0, NULL, 0}};

/* The letter of `which` that allows each option. */
static char opt_letter(int opt)
{
    switch (opt) {
    case OPT_MATCH:
        return 'm';
    case OPT_LIMIT:
        return 'l';
    case OPT_JSON:
        return 'j';
    case OPT_VERIFY:
        return 'v';
    case OPT_NO_AGE:
        return 'a';
    default:
        return 'f';
    }
}

static uint32_t parse_states(const char *list)
{
    uint32_t mask = 0;
    char buf[256], *save = NULL;

    if (strlen(list) >= sizeof(buf))
        spoolctl_usage_error("--state: too long");
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        int st = rcpt_state_parse(s);
        if (st < 0)
            spoolctl_usage_error("unknown state \"%s\"", s);
        mask |= 1u << st;
    }
    if (!mask)
        spoolctl_usage_error("--state: no state given");
    return mask;
}

long long spoolctl_duration(const char *s)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0 || s[0] == '-' || s[0] == '+')
        return -1;
    switch (*end) {
    case '\0':
    case 's':
        break;
    case 'm':
        v *= 60;
        break;
    case 'h':
        v *= 3600;
        break;
    case 'd':
        v *= 86400;
        break;
    case 'w':
        v *= 7 * 86400;
        break;
    default:
        return -1;
    }
    if (*end && end[1] != '\0')
        return -1;
    return v;
}

static uint32_t parse_limit(const char *s)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v == 0 || v > UINT32_MAX)
        spoolctl_usage_error("--limit: not a positive number: \"%s\"", s);
    return (uint32_t)v;
}

static void copy_arg(char *dst, size_t size, const char *opt, const char *v)
{
    if (strlen(v) >= size)
        spoolctl_usage_error("%s: too long", opt);
    memcpy(dst, v, strlen(v) + 1);
}

static void opt_take(int opt, const char *v, struct spoolctl_opts *o)
{
    struct ipc_filter *f = &o->lf.f;
    long long secs;

    o->filtered |= opt_letter(opt) == 'f';
    switch (opt) {
    case OPT_STATE:
        f->state_mask = parse_states(v);
        break;
    case OPT_FROM:
        copy_arg(f->from, sizeof(f->from), "--from", v[0] ? v : "<>");
        break;
    case OPT_TO:
        copy_arg(f->to, sizeof(f->to), "--to", v);
        break;
    case OPT_DOMAIN:
        copy_arg(f->domain, sizeof(f->domain), "--domain", v[0] == '@' ? v + 1 : v);
        break;
    case OPT_OLDER:
        if ((secs = spoolctl_duration(v)) < 0)
            spoolctl_usage_error("--older-than: not a duration: \"%s\" (e.g. 90s, 15m, 2h, 3d)", v);
        f->before_us = now_us() - (uint64_t)secs * 1000000u;
        break;
    case OPT_MATCH:
        copy_arg(o->lf.match, sizeof(o->lf.match), "--match", v);
        break;
    case OPT_LIMIT:
        o->lf.limit = parse_limit(v);
        break;
    case OPT_JSON:
        o->json = 1;
        break;
    case OPT_VERIFY:
        o->verify = 1;
        break;
    default:
        o->no_age = 1;
        break;
    }
}

void spoolctl_opts_parse(int argc, char **argv, const char *which, struct spoolctl_opts *o)
{
    int opt;

    memset(o, 0, sizeof(*o));
    optind = 0; /* a full reset of getopt's state: it parsed the global options before */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", spoolctl_options, NULL)) != -1) {
        if (opt == '?' || opt == ':')
            spoolctl_usage_error("%s: bad option \"%s\"", argv[0], argv[optind - 1]);
        if (!strchr(which, opt_letter(opt)))
            spoolctl_usage_error("%s: option \"%s\" does not apply", argv[0], argv[optind - 1]);
        opt_take(opt, optarg, o);
    }
    o->nargs = argc - optind;
    o->args = argv + optind;
}
