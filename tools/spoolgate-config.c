/* spoolgate-config - print spoolgate.ini values (in force, non-default, defaults), its man page, an example. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "config.h"
#include "config_doc.h"
#include "version.h"

#ifndef SPOOLGATE_STATE_DIR
#define SPOOLGATE_STATE_DIR "/var/lib/spoolgate"
#endif

enum show { SHOW_EFFECTIVE, SHOW_NONDEFAULT, SHOW_DEFAULTS };

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: spoolgate-config [-c FILE] [-n | -d] [SECTION | SECTION.KEY ...]\n"
        "       spoolgate-config --man | --example | --version\n"
        "  (none)       every value in force (the file, else the embedded default)\n"
        "  -c FILE      the config file (default %s if it exists)\n"
        "  -n           only the values that differ from the defaults\n"
        "  -d           the defaults\n"
        "  --man        spoolgate.ini(5) in roff, from the key table\n"
        "  --example    a commented example spoolgate.ini, from the key table\n"
        "Sizes and durations are printed in units (64m, 60s).  Exit 64: usage; 78: bad config.\n",
        SPOOLGATE_CONFIG_PATH);
}

/* The key's value in c, in the units a person writes; the table's own text when it is the default. */
static void value_text(const struct sg_config *c, const struct cfg_key *k, char *buf, size_t bufsz)
{
    const void *field = (const char *)c + k->offset;
    long long v, def;
    char why[200];

    switch (k->type) {
    case CFG_STRING:
    case CFG_PATH:
    case CFG_ENUM:
        snprintf(buf, bufsz, "%s", *(char *const *)field);
        return;
    case CFG_BOOL:
        snprintf(buf, bufsz, "%s", *(const long long *)field ? "yes" : "no");
        return;
    case CFG_INT:
    case CFG_SIZE:
    case CFG_DURATION:
        break;
    }
    v = *(const long long *)field;
    if ((k->type == CFG_SIZE &&
         cfg_parse_size(k->def, k->min, k->max, &def, why, sizeof(why)) == 0 && def == v) ||
        (k->type == CFG_DURATION &&
         cfg_parse_duration(k->def, k->min, k->max, &def, why, sizeof(why)) == 0 && def == v)) {
        snprintf(buf, bufsz, "%s", k->def);
        return;
    }
    config_doc_human(k->type, v, buf, bufsz);
}

/* Does a SECTION or SECTION.KEY argument name this key?  No arguments: every key. */
static int wanted(const struct cfg_key *k, int nargs, char **args)
{
    size_t slen = strlen(k->section);

    if (nargs == 0)
        return 1;
    for (int i = 0; i < nargs; i++) {
        if (strcmp(args[i], k->section) == 0)
            return 1;
        if (strncmp(args[i], k->section, slen) == 0 && args[i][slen] == '.' &&
            strcmp(args[i] + slen + 1, k->name) == 0)
            return 1;
    }
    return 0;
}

/* Every argument names a section or a key; else exit 64. */
static void check_args(int nargs, char **args)
{
    for (int i = 0; i < nargs; i++) {
        int found = 0;

        for (const struct cfg_key *k = cfg_keys; k->name && !found; k++) {
            const char *one[1] = {args[i]};
            found = wanted(k, 1, (char **)one);
        }
        if (!found) {
            fprintf(stderr, "spoolgate-config: %s: no such section or key\n", args[i]);
            exit(EX_USAGE);
        }
    }
}

static void print_keys(const struct sg_config *c, const struct sg_config *defaults, enum show show,
                       int nargs, char **args)
{
    const char *section = "";

    for (const struct cfg_key *k = cfg_keys; k->name; k++) {
        char now[4200], def[4200];

        if (!wanted(k, nargs, args))
            continue;
        if (show == SHOW_DEFAULTS) {
            snprintf(now, sizeof(now), "%s", k->def);
        } else {
            value_text(c, k, now, sizeof(now));
            value_text(defaults, k, def, sizeof(def));
            if (show == SHOW_NONDEFAULT && strcmp(now, def) == 0)
                continue;
        }
        if (strcmp(section, k->section) != 0) {
            printf("%s[%s]\n", section[0] ? "\n" : "", k->section);
            section = k->section;
        }
        printf("%s =%s%s\n", k->name, now[0] ? " " : "", now);
    }
}

static struct sg_config *load_or_exit(const char *path)
{
    static char err[8192];
    struct sg_config *c = config_load(path, err, sizeof(err));

    if (!c) {
        fprintf(stderr, "spoolgate-config: config refused:\n%s", err);
        exit(EX_CONFIG);
    }
    return c;
}

/* The table's defaults as a config (paths made absolute the same way as a file's). */
static struct sg_config *defaults_or_exit(void)
{
    static char err[8192];
    struct sg_config *d = config_parse_text("", "(defaults)", err, sizeof(err));

    if (!d) {
        fprintf(stderr, "spoolgate-config: the built-in defaults are refused:\n%s", err);
        exit(EX_SOFTWARE);
    }
    return d;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"man", no_argument, NULL, 'M'},
        {"example", no_argument, NULL, 'E'},      {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    enum show show = SHOW_EFFECTIVE;
    int opt, doc = 0;
    struct sg_config *c, *defaults;

    while ((opt = getopt_long(argc, argv, "c:ndh", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'n':
        case 'd':
            if (show != SHOW_EFFECTIVE)
                return usage(stderr), EX_USAGE;
            show = opt == 'n' ? SHOW_NONDEFAULT : SHOW_DEFAULTS;
            break;
        case 'M':
        case 'E':
            doc = opt;
            break;
        case 'V':
            version_print(stdout, "spoolgate-config");
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (doc && (optind != argc || path || show != SHOW_EFFECTIVE))
        return usage(stderr), EX_USAGE;
    if (doc == 'M')
        config_doc_man(stdout);
    if (doc == 'E')
        config_doc_example(stdout, SPOOLGATE_STATE_DIR);
    if (doc)
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : EX_IOERR;
    check_args(argc - optind, argv + optind);
    c = show == SHOW_DEFAULTS ? NULL : load_or_exit(path);
    defaults = defaults_or_exit();
    print_keys(c, defaults, show, argc - optind, argv + optind);
    config_free(c);
    config_free(defaults);
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : EX_IOERR;
}
