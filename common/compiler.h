/* compiler: the few compiler-specific spellings the code uses, so every header stays portable
 * C11 (GCC and Clang check printf formats; MSVC has no such attribute and gets nothing). */
#ifndef GSKEL_COMPILER_H
#define GSKEL_COMPILER_H

#if defined(__GNUC__) || defined(__clang__)
#define GSKEL_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define GSKEL_PRINTF(fmt_index, first_arg)
#endif

#endif
