/* version.h - every program's --version: the package version configure was given. */
#ifndef SPOOLGATE_VERSION_H
#define SPOOLGATE_VERSION_H

#include <stdio.h>

/* "program (spoolgate) VERSION" and a newline. */
void version_print(FILE *out, const char *program);
/* argv is exactly "program --version": print the version and exit 0; else nothing. */
void version_option(int argc, char **argv, const char *program);

#endif
