/*
 * testutil.h for a suite that is built with include_directories : support_inc
 * rather than test_support_dep (tests/harness): the declarations, and the
 * definitions compiled into the one file that includes this.  Such a suite
 * moves to test_support_dep by changing that one line of its meson.build.
 */
#include "../testutil.h"
#include "../testutil.c"
