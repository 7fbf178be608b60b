/* config.c - read spoolgate.ini with inih against the key table; every problem reported as file:line: key: reason. */
#include "config.h"
#include "buf.h"
#include "config_check.h"
#include "ipc_tls_conf.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CFG_LINE_MAX 1000
#define CFG_LONG_VALUE "\x01" /* stands for the value of a line longer than inih's buffer */
#define CFG_STRING_MAX 4096

/* ---- pure value parsers ----------------------------------------------------- */

static int why_set(char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int why_set(char *why, size_t whysz, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, whysz, fmt, ap);
    va_end(ap);
    return -1;
}

static int in_range(long long v, long long min, long long max, char *why, size_t whysz)
{
    if (v < min || v > max)
        return why_set(why, whysz, "must be between %lld and %lld", min, max);
    return 0;
}

/* Digits, then an optional one-letter suffix from `suffixes` with its factor. */
static int parse_scaled(const char *s, const char *suffixes, const long long *factors,
                        long long *out, char *why, size_t whysz)
{
    char *end;
    long long v, f = 1;

    if (!*s || !((*s >= '0' && *s <= '9')))
        return why_set(why, whysz, "not a number: \"%s\"", s);
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return why_set(why, whysz, "number too large: \"%s\"", s);
    if (*end) {
        const char *p = end[1] == '\0' ? strchr(suffixes, (char)(end[0] | 0x20)) : NULL;
        if (!p || !*end)
            return why_set(why, whysz, "unknown suffix '%s'", end);
        f = factors[p - suffixes];
    }
    if (v > LLONG_MAX / f)
        return why_set(why, whysz, "number too large: \"%s\"", s);
    *out = v * f;
    return 0;
}

int cfg_parse_int(const char *s, long long min, long long max, long long *out, char *why,
                  size_t whysz)
{
    long long v;
    char *end;
    const char *p = s;

    if (*p == '-')
        p++;
    if (!*p || *p < '0' || *p > '9')
        return why_set(why, whysz, "not a number: \"%s\"", s);
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return why_set(why, whysz, "number too large: \"%s\"", s);
    if (*end)
        return why_set(why, whysz, "not a number: \"%s\"", s);
    if (in_range(v, min, max, why, whysz) < 0)
        return -1;
    *out = v;
    return 0;
}

int cfg_parse_size(const char *s, long long min, long long max, long long *out, char *why,
                   size_t whysz)
{
    static const long long factors[] = {1024LL, 1024LL * 1024, 1024LL * 1024 * 1024};
    long long v;

    if (parse_scaled(s, "kmg", factors, &v, why, whysz) < 0 ||
        in_range(v, min, max, why, whysz) < 0)
        return -1;
    *out = v;
    return 0;
}

int cfg_parse_duration(const char *s, long long min, long long max, long long *out, char *why,
                       size_t whysz)
{
    static const long long factors[] = {1, 60, 3600, 86400};
    long long v;

    if (parse_scaled(s, "smhd", factors, &v, why, whysz) < 0 ||
        in_range(v, min, max, why, whysz) < 0)
        return -1;
    *out = v;
    return 0;
}

int cfg_parse_bool(const char *s, int *out, char *why, size_t whysz)
{
    static const char *const yes[] = {"yes", "true", "on", "1"}, *const no[] = {"no", "false",
                                                                                "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = 0, 0;
    }
    return why_set(why, whysz, "not a boolean (yes/no): \"%s\"", s);
}

int cfg_parse_enum(const char *s, const char *choices, char *why, size_t whysz)
{
    size_t n = strlen(s);

    for (const char *p = choices; *p;) {
        size_t len = strcspn(p, "|");
        if (n && len == n && strncmp(p, s, n) == 0)
            return 0;
        p += len + (p[len] == '|');
    }
    return why_set(why, whysz, "must be one of %s", choices);
}

/* ---- applying one key ----------------------------------------------------------- */

static const struct cfg_key *cfg_find(const char *section, const char *name)
{
    for (const struct cfg_key *k = cfg_keys; k->name; k++)
        if (strcmp(k->section, section) == 0 && strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

static int cfg_section_known(const char *section)
{
    for (size_t i = 0; cfg_sections[i]; i++)
        if (strcmp(cfg_sections[i], section) == 0)
            return 1;
    return 0;
}

static int cfg_set(struct sg_config *c, const struct cfg_key *k, const char *value, char *why,
                   size_t whysz)
{
    void *field = (char *)c + k->offset;
    long long v = 0;
    int b = 0;
    long long maxlen = k->max ? k->max : CFG_STRING_MAX;

    switch (k->type) {
    case CFG_INT:
        if (cfg_parse_int(value, k->min, k->max, &v, why, whysz) < 0)
            return -1;
        break;
    case CFG_SIZE:
        if (cfg_parse_size(value, k->min, k->max, &v, why, whysz) < 0)
            return -1;
        break;
    case CFG_DURATION:
        if (cfg_parse_duration(value, k->min, k->max, &v, why, whysz) < 0)
            return -1;
        break;
    case CFG_BOOL:
        if (cfg_parse_bool(value, &b, why, whysz) < 0)
            return -1;
        v = b;
        break;
    case CFG_ENUM:
        if (cfg_parse_enum(value, k->choices, why, whysz) < 0)
            return -1;
        break;
    case CFG_STRING:
    case CFG_PATH:
        if ((long long)strlen(value) > maxlen)
            return why_set(why, whysz, "longer than %lld bytes", maxlen);
        break;
    }
    if (k->type == CFG_STRING || k->type == CFG_PATH || k->type == CFG_ENUM) {
        char *copy = strdup(value);
        if (!copy)
            return why_set(why, whysz, "out of memory");
        free(*(char **)field);
        *(char **)field = copy;
    } else {
        *(long long *)field = v;
    }
    return 0;
}

/* ---- parsing text with inih -------------------------------------------------------- */

struct cfg_parse {
    const char *name;
    const char *text; /* rest of the input */
    int line;         /* number of the line handed to inih last */
    struct sg_config *cfg;
    int *seen_line; /* line each key was set on, by table index; one per key of cfg_keys */
    /* A value longer than inih's line buffer (200 octets in Debian's libinih) goes around it:
     * inih gets "key = " CFG_LONG_VALUE and the handler takes the value from here. */
    char long_value[CFG_LINE_MAX + 1];
    char *err;
    size_t errsz, errlen;
    int errors;
};

static void cfg_error(struct cfg_parse *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cfg_error(struct cfg_parse *p, int line, const char *fmt, ...)
{
    va_list ap;
    int n;

    p->errors++;
    if (p->errlen + 1 >= p->errsz)
        return;
    n = snprintf(p->err + p->errlen, p->errsz - p->errlen, "%s:%d: ", p->name, line);
    if (n > 0)
        p->errlen += (size_t)n < p->errsz - p->errlen ? (size_t)n : p->errsz - p->errlen - 1;
    va_start(ap, fmt);
    n = vsnprintf(p->err + p->errlen, p->errsz - p->errlen, fmt, ap);
    va_end(ap);
    if (n > 0)
        p->errlen += (size_t)n < p->errsz - p->errlen ? (size_t)n : p->errsz - p->errlen - 1;
    if (p->errlen + 1 < p->errsz) {
        p->err[p->errlen++] = '\n';
        p->err[p->errlen] = '\0';
    }
}

/* Lines inih would refuse, found here so that every one is reported. */
static int cfg_line_bad(struct cfg_parse *p, const char *line)
{
    size_t n = strcspn(line, "\r");

    if (n == 0 || line[0] == ';' || line[0] == '#')
        return 0;
    if (line[0] == '[') {
        const char *close = memchr(line, ']', n);
        char name[64];
        size_t len = close ? (size_t)(close - line - 1) : 0;

        if (!close || len == 0 || len >= sizeof(name) ||
            strspn(line + 1, "abcdefghijklmnopqrstuvwxyz_") != len) {
            cfg_error(p, p->line, "syntax error: bad section header \"%.40s\"", line);
            return 1;
        }
        memcpy(name, line + 1, len);
        name[len] = '\0';
        if (!cfg_section_known(name))
            cfg_error(p, p->line, "[%s]: unknown section", name);
        return 0;
    }
    if (!memchr(line, '=', n)) {
        cfg_error(p, p->line, "syntax error: expected key = value, got \"%.40s\"", line);
        return 1;
    }
    return 0;
}

/* A line longer than inih's buffer (num): a comment is dropped, a "key = value" line is handed
 * on as "key = " CFG_LONG_VALUE with the value kept in p->long_value.  0, or -1 if neither. */
static int cfg_long_line(struct cfg_parse *p, char *line, char *str, int num)
{
    char *eq = strchr(line, '=');
    const char *v = eq ? eq + 1 + strspn(eq + 1, " \t") : NULL;
    size_t klen = eq ? (size_t)(eq - line) : 0, vlen = v ? strlen(v) : 0;

    if (line[0] == ';' || line[0] == '#' || line[0] == '\0') {
        snprintf(str, (size_t)num, ";\n");
        return 0;
    }
    if (!eq || klen + sizeof(" = " CFG_LONG_VALUE "\n") > (size_t)num)
        return -1;
    while (vlen && strchr(" \t\r", v[vlen - 1]))
        vlen--;
    snprintf(p->long_value, sizeof(p->long_value), "%.*s", (int)vlen, v);
    snprintf(str, (size_t)num, "%.*s= " CFG_LONG_VALUE "\n", (int)klen, line);
    return 0;
}

/* inih reader: one line per call, leading blanks removed (no continuation
 * lines), over-long lines reported and replaced by a comment. */
static char *cfg_reader(char *str, int num, void *stream)
{
    struct cfg_parse *p = stream;
    char line[CFG_LINE_MAX + 1];
    size_t len, keep;
    const char *s;

    if (!*p->text)
        return NULL;
    len = strcspn(p->text, "\n");
    p->line++;
    p->long_value[0] = '\0';
    if (len > CFG_LINE_MAX) {
        cfg_error(p, p->line, "line too long (more than %d bytes)", CFG_LINE_MAX);
        snprintf(str, (size_t)num, ";\n");
        p->text += len + (p->text[len] == '\n');
        return str;
    }
    s = p->text;
    keep = len;
    while (keep && (*s == ' ' || *s == '\t'))
        s++, keep--;
    memcpy(line, s, keep);
    line[keep] = '\0';
    if (line[0] != ';' && line[0] != '#')
        line[cfg_comment_start(line)] = '\0';
    if (cfg_line_bad(p, line))
        snprintf(str, (size_t)num, ";\n");
    else if (strlen(line) + 2 <= (size_t)num)
        snprintf(str, (size_t)num, "%s\n", line);
    else if (cfg_long_line(p, line, str, num) < 0) {
        cfg_error(p, p->line, "line too long (more than %d bytes before the '=')", num - 8);
        snprintf(str, (size_t)num, ";\n");
    }
    p->text += len + (p->text[len] == '\n');
    return str;
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
    struct cfg_parse *p = user;
    const struct cfg_key *k;
    char why[512], text[CFG_LINE_MAX + 1];
    int idx;

    if (!*section) {
        cfg_error(p, p->line, "%s: key outside any section", name);
        return 1;
    }
    if (!cfg_section_known(section))
        return 1; /* reported at its header */
    if (!(k = cfg_find(section, name))) {
        cfg_error(p, p->line, "%s.%s: unknown key", section, name);
        return 1;
    }
    idx = (int)(k - cfg_keys);
    if (p->seen_line[idx]) {
        cfg_error(p, p->line, "%s.%s: duplicate key (first set on line %d)", section, name,
                  p->seen_line[idx]);
        return 1;
    }
    p->seen_line[idx] = p->line;
    if (p->long_value[0] && strcmp(value, CFG_LONG_VALUE) == 0)
        value = p->long_value;
    if (cfg_unquote(value, text, sizeof(text), why, sizeof(why)) < 0 ||
        cfg_set(p->cfg, k, text, why, sizeof(why)) < 0 ||
        cfg_check_value(cfg_check_kind(section, name), text, why, sizeof(why)) < 0)
        cfg_error(p, p->line, "%s.%s: %s", section, name, why);
    return 1;
}

static int cfg_defaults(struct sg_config *c, char *err, size_t errsz)
{
    for (const struct cfg_key *k = cfg_keys; k->name; k++) {
        char why[256];
        if (cfg_set(c, k, k->def, why, sizeof(why)) < 0) {
            snprintf(err, errsz, "(built-in default) %s.%s: %s\n", k->section, k->name, why);
            return -1;
        }
    }
    return 0;
}

/* ---- derived values ----------------------------------------------------------------- */

static int cfg_absolute(char **path, const char *base)
{
    char buf[PATH_MAX * 2], cwd[PATH_MAX];
    char *copy;

    if ((*path)[0] == '/')
        return 0;
    if (!base) {
        if (!getcwd(cwd, sizeof(cwd)))
            return -1;
        base = cwd;
    }
    snprintf(buf, sizeof(buf), "%s/%s", base,
             (*path)[0] == '.' && (*path)[1] == '/' ? *path + 2 : *path);
    if (!(copy = strdup(buf)))
        return -1;
    free(*path);
    *path = copy;
    return 0;
}

static int cfg_default_under(char **path, const char *state_dir, const char *sub)
{
    char buf[PATH_MAX * 2];

    if ((*path)[0])
        return cfg_absolute(path, state_dir);
    snprintf(buf, sizeof(buf), "%s/%s", state_dir, sub);
    free(*path);
    return (*path = strdup(buf)) ? 0 : -1;
}

static int cfg_finalize(struct sg_config *c, char *err, size_t errsz)
{
    char host[256], why[512];

    if (cfg_absolute(&c->global.state_dir, NULL) < 0 ||
        cfg_default_under(&c->global.socket_dir, c->global.state_dir, "run") < 0 ||
        cfg_default_under(&c->store.db_dir, c->global.state_dir, "store") < 0) {
        snprintf(err, errsz, "%s: cannot resolve paths: %s\n", c->source, strerror(errno));
        return -1;
    }
    /* Every other path is taken from the cwd at start, before a daemon detaches (and chdirs to /). */
    for (const struct cfg_key *k = cfg_keys; k->name; k++) {
        char **field = (char **)((char *)c + k->offset);

        if (k->type == CFG_PATH && (*field)[0] && cfg_absolute(field, NULL) < 0) {
            snprintf(err, errsz, "%s: %s.%s: cannot resolve the path: %s\n", c->source, k->section,
                     k->name, strerror(errno));
            return -1;
        }
    }
    if (ipc_tls_conf_check(c, why, sizeof(why)) < 0)
        return snprintf(err, errsz, "%s: %s\n", c->source, why), -1;
    if (!c->global.hostname[0] && gethostname(host, sizeof(host)) == 0) {
        host[sizeof(host) - 1] = '\0';
        free(c->global.hostname);
        c->global.hostname = strdup(host);
    }
    return c->global.hostname ? 0 : -1;
}

struct sg_config *config_parse_text(const char *text, const char *name, char *err, size_t errsz)
{
    struct cfg_parse p = {.name = name, .text = text, .err = err, .errsz = errsz};
    struct sg_config *c = calloc(1, sizeof(*c));
    int ret;

    size_t nkeys = 0;

    err[0] = '\0';
    while (cfg_keys[nkeys].name)
        nkeys++;
    p.seen_line = calloc(nkeys + 1, sizeof(*p.seen_line)); /* sized by the table itself */
    if (!c || !p.seen_line || !(c->source = strdup(name)) || cfg_defaults(c, err, errsz) < 0) {
        if (!err[0])
            snprintf(err, errsz, "%s: out of memory\n", name);
        free(p.seen_line);
        config_free(c);
        return NULL;
    }
    p.cfg = c;
    ret = ini_parse_stream(cfg_reader, &p, cfg_handler, &p);
    /* inih reports lines it could not parse (no '=', bad [section]) by number. */
    if (ret > 0)
        cfg_error(&p, ret, "syntax error: expected [section] or key = value");
    else if (ret < 0)
        cfg_error(&p, 0, "cannot parse (%d)", ret);
    free(p.seen_line);
    if (p.errors || cfg_finalize(c, err, errsz) < 0) {
        config_free(c);
        return NULL;
    }
    return c;
}

/* ---- files, freeing, dumping, derived paths ------------------------------------------ */

static char *cfg_read_file(const char *path, char *err, size_t errsz)
{
    FILE *f = fopen(path, "r");
    struct sg_buf b = {0};

    if (!f) {
        snprintf(err, errsz, "%s: cannot read: %s\n", path, strerror(errno));
        return NULL;
    }
    if (sg_buf_read_stream(&b, f) < 0 || memchr(b.data, '\0', b.len)) {
        if (b.failed)
            snprintf(err, errsz, "%s: out of memory\n", path);
        else
            snprintf(err, errsz, "%s: cannot read: %s\n", path,
                     ferror(f) ? strerror(errno) : "NUL byte in file");
        sg_buf_free(&b);
        fclose(f);
        return NULL;
    }
    fclose(f);
    return (char *)sg_buf_detach(&b, NULL);
}

struct sg_config *config_load(const char *path, char *err, size_t errsz)
{
    struct sg_config *c;
    char *text;

    if (!path && access(SPOOLGATE_CONFIG_PATH, F_OK) == 0)
        path = SPOOLGATE_CONFIG_PATH;
    if (!path)
        return config_parse_text(cfg_embedded_default, CONFIG_EMBEDDED_NAME, err, errsz);
    if (!(text = cfg_read_file(path, err, errsz)))
        return NULL;
    c = config_parse_text(text, path, err, errsz);
    free(text);
    return c;
}

int config_warning(const struct sg_config *c, char *buf, size_t bufsz)
{
    long long room = c->store.max_clients - c->store.reserved_clients;

    /* smtpd holds its pool and one monitor link; the gateway and the tools submit too. */
    if (c->smtpd.max_store_connections + 1 < room)
        return 0;
    snprintf(buf, bufsz,
             "smtpd.max_store_connections (%lld) plus smtpd's monitor link leaves no room below "
             "store.max_clients (%lld) less store.reserved_clients (%lld) for the gateway's and "
             "spoolgate-sendmail's submissions",
             c->smtpd.max_store_connections, c->store.max_clients, c->store.reserved_clients);
    return 1;
}

void config_free(struct sg_config *c)
{
    if (!c)
        return;
    for (const struct cfg_key *k = cfg_keys; k->name; k++)
        if (k->type == CFG_STRING || k->type == CFG_PATH || k->type == CFG_ENUM)
            free(*(char **)((char *)c + k->offset));
    free(c->source);
    free(c);
}

static void cfg_value_text(const struct sg_config *c, const struct cfg_key *k, char *buf,
                           size_t bufsz)
{
    const void *field = (const char *)c + k->offset;

    if (k->type == CFG_STRING || k->type == CFG_PATH || k->type == CFG_ENUM)
        snprintf(buf, bufsz, "%s", *(char *const *)field);
    else if (k->type == CFG_BOOL)
        snprintf(buf, bufsz, "%s", *(const long long *)field ? "yes" : "no");
    else
        snprintf(buf, bufsz, "%lld", *(const long long *)field);
}

static int key_listed(const struct cfg_key *k, const char *const *list)
{
    char name[128];

    snprintf(name, sizeof(name), "%s.%s", k->section, k->name);
    for (; list && *list; list++)
        if (strcmp(*list, name) == 0)
            return 1;
    return 0;
}

#define DUMP_COMMENT_WIDTH 96 /* well within the loader's line limit */

/* "# doc (default: "def")", wrapped at blanks into lines of at most DUMP_COMMENT_WIDTH. */
static void dump_comment(FILE *out, const char *doc, const char *def)
{
    char text[2048];
    const char *p = text;

    snprintf(text, sizeof(text), "%s (default: \"%s\")", doc, def);
    while (*p) {
        size_t n = strlen(p), cut = n;

        if (n > DUMP_COMMENT_WIDTH) {
            cut = DUMP_COMMENT_WIDTH;
            while (cut > 0 && p[cut] != ' ')
                cut--;
            if (cut == 0) /* one word longer than a line: it goes whole */
                cut = strcspn(p, " ");
        }
        fprintf(out, "# %.*s\n", (int)cut, p);
        p += cut;
        while (*p == ' ')
            p++;
    }
}
/* sections: "smtpd,global,router.dns_servers": whole sections or single keys. */
static int item_listed(const char *item, const char *sections)
{
    size_t n = strlen(item);

    for (const char *p = sections; (p = strstr(p, item)) != NULL; p += n)
        if ((p == sections || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return 1;
    return 0;
}

static int section_listed(const struct cfg_key *k, const char *sections)
{
    char name[128];

    snprintf(name, sizeof(name), "%s.%s", k->section, k->name);
    return item_listed(k->section, sections) || item_listed(name, sections);
}

static int dump_needs_quotes(const char *v)
{
    size_t n = strlen(v);

    return n > 0 && (v[0] == '#' || v[0] == ';' || v[0] == '"' || v[0] == ' ' || v[0] == '\t' ||
                     v[n - 1] == ' ' || v[n - 1] == '\t');
}

size_t config_changed(const struct sg_config *a, const struct sg_config *b, const char *sections,
                      const char *const *applied, char *out, size_t outsz)
{
    size_t count = 0, len = 0;

    if (outsz)
        out[0] = '\0';
    for (const struct cfg_key *k = cfg_keys; k->name; k++) {
        char va[CFG_STRING_MAX + 1], vb[CFG_STRING_MAX + 1];
        int n;

        if (!section_listed(k, sections) || key_listed(k, applied))
            continue;
        cfg_value_text(a, k, va, sizeof(va));
        cfg_value_text(b, k, vb, sizeof(vb));
        if (strcmp(va, vb) == 0)
            continue;
        n = snprintf(out + len, outsz - len, "%s%s.%s", count ? ", " : "", k->section, k->name);
        if (n > 0 && (size_t)n < outsz - len)
            len += (size_t)n;
        count++;
    }
    return count;
}

void config_dump(FILE *out, const struct sg_config *c, int all)
{
    const char *section = "";
    struct sg_config *defaults;
    char err[256];

    defaults = config_parse_text("", "(defaults)", err, sizeof(err));
    for (const struct cfg_key *k = cfg_keys; k->name; k++) {
        char now[CFG_STRING_MAX + 1], def[CFG_STRING_MAX + 1];

        cfg_value_text(c, k, now, sizeof(now));
        if (defaults)
            cfg_value_text(defaults, k, def, sizeof(def));
        if (!all && defaults && strcmp(now, def) == 0)
            continue;
        if (strcmp(section, k->section) != 0) {
            fprintf(out, "%s[%s]\n", section[0] ? "\n" : "", k->section);
            section = k->section;
        }
        dump_comment(out, k->doc, k->def);
        /* a value the loader would read otherwise goes in quotes: one that begins with a
         * comment sign or a quote, or has blanks at either end (found by fuzz_config) */
        fprintf(out, dump_needs_quotes(now) ? "%s = \"%s\"\n" : "%s = %s\n", k->name, now);
    }
    config_free(defaults);
}

const char *config_socket_dir(const struct sg_config *c)
{
    return c->global.socket_dir;
}

const char *config_store_dir(const struct sg_config *c)
{
    return c->store.db_dir;
}

int config_socket_path(const struct sg_config *c, const char *name, char *buf, size_t bufsz)
{
    struct sockaddr_un sa;
    int n = snprintf(buf, bufsz, "%s/%s.sock", c->global.socket_dir, name);

    if (n < 0 || (size_t)n >= bufsz || (size_t)n >= sizeof(sa.sun_path))
        return -1;
    return 0;
}
