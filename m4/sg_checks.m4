dnl sg_checks.m4 - named feature checks for spoolgate's configure.

dnl SG_PKG_REQUIRE(VAR, MODULE, DEBIAN-PACKAGE): pkg-config or stop, naming the package.
AC_DEFUN([SG_PKG_REQUIRE], [
  PKG_CHECK_MODULES([$1], [$2], [],
    [AC_MSG_ERROR([$2 not found by pkg-config: install it with 'apt-get install $3'])])
])

dnl SG_REQUIRE_BDB53: Berkeley DB 5.3 headers and library.
AC_DEFUN([SG_REQUIRE_BDB53], [
  AC_CHECK_HEADER([db.h], [],
    [AC_MSG_ERROR([Berkeley DB header db.h not found: apt-get install libdb5.3-dev])])
  AC_MSG_CHECKING([whether db.h is Berkeley DB 5.3])
  AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[#include <db.h>]], [[
#if DB_VERSION_MAJOR != 5 || DB_VERSION_MINOR != 3
#error not Berkeley DB 5.3
#endif
  ]])], [AC_MSG_RESULT([yes])],
    [AC_MSG_RESULT([no])
     AC_MSG_ERROR([Berkeley DB 5.3 is required: apt-get install libdb5.3-dev])])
  AC_CHECK_LIB([db-5.3], [db_env_create], [BDB_LIBS=-ldb-5.3],
    [AC_MSG_ERROR([libdb-5.3 not found: apt-get install libdb5.3-dev])])
  AC_SUBST([BDB_LIBS])
])

dnl AX_SG_REQUIRE_C11: the compiler must accept -std=c11 (with GNU/POSIX extensions off by default).
AC_DEFUN([AX_SG_REQUIRE_C11], [
  AC_MSG_CHECKING([whether $CC accepts -std=c11])
  sg_save_CFLAGS="$CFLAGS"
  CFLAGS="$CFLAGS -std=c11"
  AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[_Static_assert(1, "c11");]], [[]])],
    [AC_MSG_RESULT([yes])],
    [AC_MSG_RESULT([no]); AC_MSG_ERROR([a C11 compiler is required: apt-get install gcc])])
  CFLAGS="$sg_save_CFLAGS"
])
