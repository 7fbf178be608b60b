/* smtp_cmd.c - pure parsers of an SMTP command line into verb and argument, and of the BDAT argument. */
#include "smtp_cmd.h"

#include <stdio.h>
#include <string.h>

#include "smtp_char.h"

static const char *const verb_names[SMTP_V_COUNT] = {
    [SMTP_V_UNKNOWN] = "UNKNOWN", [SMTP_V_EHLO] = "EHLO",         [SMTP_V_HELO] = "HELO",
    [SMTP_V_MAIL] = "MAIL",       [SMTP_V_RCPT] = "RCPT",         [SMTP_V_DATA] = "DATA",
    [SMTP_V_BDAT] = "BDAT",       [SMTP_V_RSET] = "RSET",         [SMTP_V_NOOP] = "NOOP",
    [SMTP_V_QUIT] = "QUIT",       [SMTP_V_HELP] = "HELP",         [SMTP_V_VRFY] = "VRFY",
    [SMTP_V_EXPN] = "EXPN",       [SMTP_V_STARTTLS] = "STARTTLS", [SMTP_V_AUTH] = "AUTH",
};

int smtp_error_set(struct smtp_error *err, int code, const char *text)
{
    if (err != NULL) {
        err->code = code;
        snprintf(err->text, sizeof(err->text), "%s", text);
    }
    return -1;
}

void smtp_error_clear(struct smtp_error *err)
{
    if (err != NULL) {
        err->code = 0;
        err->text[0] = '\0';
    }
}

int smtp_parse_command(const char *line, size_t len, struct smtp_cmd *cmd, struct smtp_error *err)
{
    size_t i, vlen;

    if (line == NULL) {
        line = "";
        len = 0;
    }
    if (cmd != NULL) {
        cmd->verb = SMTP_V_UNKNOWN;
        cmd->arg = "";
        cmd->arg_len = 0;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return smtp_error_set(err, 500, "5.5.2 Invalid character in command");
    }
    if (cmd == NULL)
        return smtp_error_set(err, 500, "5.5.2 Invalid command");
    smtp_error_clear(err);

    for (vlen = 0; vlen < len && line[vlen] != ' '; vlen++)
        ;
    if (vlen == 0)
        return 0; /* empty line or leading space: unknown, no argument */
    for (int v = SMTP_V_UNKNOWN + 1; v < SMTP_V_COUNT; v++) {
        if (smtp_ci_equal(line, vlen, verb_names[v])) {
            cmd->verb = (enum smtp_verb)v;
            break;
        }
    }
    for (i = vlen; i < len && line[i] == ' '; i++)
        ;
    if (i < len) {
        cmd->arg = line + i;
        cmd->arg_len = len - i;
    }
    return 0;
}

const char *smtp_verb_name(enum smtp_verb v)
{
    if ((unsigned)v >= (unsigned)SMTP_V_COUNT)
        return "UNKNOWN";
    return verb_names[v];
}

int smtp_parse_bdat(const char *arg, size_t len, uint64_t *size, int *last, struct smtp_error *err)
{
    static const char syntax[] = "5.5.4 Syntax: BDAT size [LAST]";
    size_t i = 0, start;
    uint64_t n = 0;

    *size = 0;
    *last = 0;
    if (arg == NULL) {
        arg = "";
        len = 0;
    }
    while (i < len && arg[i] == ' ')
        i++;
    start = i;
    while (i < len && arg[i] != ' ')
        i++;
    if (smtp_parse_u64(arg + start, i - start, SIZE_MAX, &n) < 0)
        return smtp_error_set(err, 501, syntax);
    while (i < len && arg[i] == ' ')
        i++;
    if (i < len) {
        start = i;
        while (i < len && arg[i] != ' ')
            i++;
        if (!smtp_ci_equal(arg + start, i - start, "LAST"))
            return smtp_error_set(err, 501, syntax);
        while (i < len && arg[i] == ' ')
            i++;
        if (i < len)
            return smtp_error_set(err, 501, syntax);
        *last = 1;
    }
    *size = n;
    smtp_error_clear(err);
    return 0;
}
