/*
 * static: the stylesheet and htmx, compiled into the program (static.c).
 */
#ifndef VM_CC_STATIC_H
#define VM_CC_STATIC_H

#include "http.h"

/* The versioned paths of the stylesheet and of htmx ("/static/..."). */
const char *static_css_path(void);
const char *static_htmx_path(void);
/* GET /static/<file>: the stylesheet and htmx at their versioned names. */
void h_static(struct req *r);
/* GET /static/vm.css: the stylesheet under its old name, never cached. */
void h_static_css(struct req *r);

#endif
