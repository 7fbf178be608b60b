/* fuzz_po_glb.c - fuzzes the GLB directory file parsers po_network_glb_parse and po_address_glb_parse (gateway/po_glb.c) and po_dir_find. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "po_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_network(const char *text, size_t len)
{
    struct po_network net;
    struct po_err e;

    e.text[0] = '\0';
    if (po_network_glb_parse(text, len, &net, &e) != 0) {
        if (e.text[0] == '\0' || memchr(e.text, '\0', sizeof(e.text)) == NULL)
            abort();
        return;
    }
    if (!po_name_valid(net.network, strnlen(net.network, sizeof(net.network))) ||
        !po_name_valid(net.postoffice, strnlen(net.postoffice, sizeof(net.postoffice))))
        abort(); /* both values are valid names */
}

/* The directory written back as ADDRESS.GLB parses to the same mailboxes and names. */
static void check_rewrite(const struct po_dir *dir)
{
    struct sg_buf b = {0};
    struct po_dir again;
    struct po_err e;

    for (size_t i = 0; i < dir->count; i++)
        sg_buf_printf(&b, "%s\t%s\r\n", dir->entries[i].mailbox, dir->entries[i].display);
    if (b.failed || po_address_glb_parse((const char *)b.data, b.len, &again, &e) != 0)
        abort(); /* what parsed, written back, parses */
    if (again.count != dir->count)
        abort();
    for (size_t i = 0; i < dir->count; i++)
        if (strcmp(again.entries[i].mailbox, dir->entries[i].mailbox) != 0 ||
            strcmp(again.entries[i].display, dir->entries[i].display) != 0)
            abort(); /* to the same entries */
    po_dir_free(&again);
    sg_buf_free(&b);
}

static void check_address(const char *text, size_t len)
{
    struct po_dir dir;
    struct po_err e;

    e.text[0] = '\0';
    if (po_address_glb_parse(text, len, &dir, &e) != 0) {
        if (dir.entries != NULL || dir.count != 0 || e.text[0] == '\0')
            abort(); /* nothing allocated, and a reason */
        po_dir_free(&dir);
        return;
    }
    for (size_t i = 0; i < dir.count; i++) {
        const struct po_dir_entry *d = &dir.entries[i];

        if (!po_name_valid(d->mailbox, strnlen(d->mailbox, sizeof(d->mailbox))) ||
            memchr(d->display, '\0', sizeof(d->display)) == NULL)
            abort();
        if (i > 0 && strcmp(dir.entries[i - 1].mailbox, d->mailbox) >= 0)
            abort(); /* sorted, no duplicates */
        if (po_dir_find(&dir, d->mailbox) != d)
            abort(); /* every entry is found */
    }
    if (dir.count == 0 && dir.entries != NULL)
        abort();
    check_rewrite(&dir);
    po_dir_free(&dir);
    po_dir_free(&dir); /* NULL-safe, empty again */
}

/* po_dir_find with the first bytes of the input as the name asked for: any case, or nothing */
static void check_find(const char *text, size_t len)
{
    char name[PO_NAME_MAX + 2];
    const struct po_dir_entry *d;
    struct po_dir dir;

    if (po_address_glb_parse("A1\t\nJSMITH\tJohn Smith\n", 22, &dir, NULL) != 0)
        abort();
    memset(name, 0, sizeof(name));
    memcpy(name, text, len < sizeof(name) - 1 ? len : sizeof(name) - 1);
    d = po_dir_find(&dir, name);
    if (d && strcasecmp(d->mailbox, name) != 0)
        abort();
    po_dir_free(&dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1); /* exact size: reads past len are caught */

    if (!text)
        return 0;
    memcpy(text, data, size);
    check_network(text, size);
    check_address(text, size);
    check_find(text, size);
    free(text);
    return 0;
}
