/* config_check.h - pure validators of config values beyond their type: networks, listeners, next hops, DNS servers; inline comments and quotes. */
#ifndef SPOOLGATE_CONFIG_CHECK_H
#define SPOOLGATE_CONFIG_CHECK_H

#include <stddef.h>
#include <sys/socket.h>

/* What a key's value must be, beyond its type (config_keys.c gives the type). */
enum cfg_check {
    CFG_CHECK_NONE,
    CFG_CHECK_CIDR_LIST,   /* "10.0.0.0/8 [::1]/128", as mynetworks (smtp_cidr_parse_list) */
    CFG_CHECK_LISTEN_LIST, /* "addr:port [v6]:port", every word with a port */
    CFG_CHECK_NEXTHOP,     /* "[host]:port", "[host]", "host:port", "host" (tm_parse_nexthop) */
    CFG_CHECK_DNS_SERVERS, /* "ip[:port],[v6]:port,..." as c-ares takes them */
    CFG_CHECK_STORE_LIST,  /* "unix:PATH ..." (sc_addr_parse) */
};

/* The check of section.name (CFG_CHECK_NONE for most keys). */
enum cfg_check cfg_check_kind(const char *section, const char *name);
/* 0, or -1 with the reason in why.  An empty value is always valid (the key is off). */
int cfg_check_value(enum cfg_check kind, const char *value, char *why, size_t whysz);

int cfg_check_cidr_list(const char *s, char *why, size_t whysz);
int cfg_check_listen_list(const char *s, char *why, size_t whysz);
int cfg_check_nexthop(const char *s, char *why, size_t whysz);
int cfg_check_dns_servers(const char *s, char *why, size_t whysz);
int cfg_check_store_list(const char *s, char *why, size_t whysz);
/* One listener word, "1.2.3.4:25" or "[::1]:25", into a socket address (the parser smtpd binds
 * with). */
int cfg_listen_addr_parse(const char *word, struct sockaddr_storage *ss, char *why, size_t whysz);

/* The next word of a list separated by spaces, tabs or commas: its start, its length in *len,
 * *p moved past it; NULL at the end. */
const char *cfg_list_word(const char **p, size_t *len);

/* Length of a config line's text before its inline comment: a ';' or '#' that follows a space
 * or tab starts one, inside quotes too (as inih does for ';'). */
size_t cfg_comment_start(const char *line);
/* A value in double quotes loses them ("" is the empty value); a value that starts with a
 * quote but does not end with one is refused.  Writes into out (outsz >= strlen(in) + 1). */
int cfg_unquote(const char *in, char *out, size_t outsz, char *why, size_t whysz);

#endif
