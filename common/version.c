/* version.c - every program's --version: the package version configure was given. */
#include "version.h"

#include <stdlib.h>
#include <string.h>

#include "build-config.h"

void version_print(FILE *out, const char *program)
{
    fprintf(out, "%s (%s) %s\n", program, PACKAGE_NAME, PACKAGE_VERSION);
}

void version_option(int argc, char **argv, const char *program)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        version_print(stdout, program);
        exit(0);
    }
}
