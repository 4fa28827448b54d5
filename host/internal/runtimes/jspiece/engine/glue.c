/*
 * The embedding of QuickJS that the jspiece runtime runs under wazero.
 *
 * Exports (all i32):
 *   atom_js_init(mem_limit)      create the runtime and context; 0 on success
 *   atom_js_alloc(n), atom_js_free(p)
 *   atom_js_eval(p, n)           evaluate a global script, then run pending
 *                                jobs; 0 ok (result holds the script's value
 *                                if it is a string), 1 exception (its text)
 *   atom_js_call(p, n)           call globalThis.__atom_call(input) and drive
 *                                jobs and timers until __atom_tick() returns a
 *                                string: 0 ok (result holds it), 1 exception
 *   atom_js_result_ptr(), atom_js_result_len()
 *   atom_js_gc_settle(headroom)  collect garbage now, then let the heap grow
 *                                by headroom bytes before the engine collects
 *                                on its own; returns the heap in KiB
 *
 * Imports, module "atom_js":
 *   host_call(p, n) -> len       one request to the host (a JSON string);
 *                                returns the length of the answer
 *   host_read(p)                 copies the pending answer to p
 *
 * The guest has no other way out: no WASI file, socket or environment use.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "quickjs.h"

__attribute__((import_module("atom_js"), import_name("host_call")))
uint32_t atom_host_call(const char *p, uint32_t n);
__attribute__((import_module("atom_js"), import_name("host_read")))
void atom_host_read(char *p);

static JSRuntime *rt;
static JSContext *ctx;
static char *result;
static size_t result_len;

static void set_result(const char *s, size_t n) {
    free(result);
    result = malloc(n + 1);
    if (!result) { result_len = 0; return; }
    memcpy(result, s, n);
    result[n] = 0;
    result_len = n;
}

static void set_result_value(JSValueConst v) {
    size_t n;
    const char *s = JS_ToCStringLen(ctx, &n, v);
    if (s) { set_result(s, n); JS_FreeCString(ctx, s); }
    else set_result("(unprintable value)", 19);
}

/* set_exception puts the pending exception, with its stack, in result. */
static void set_exception(void) {
    JSValue e = JS_GetException(ctx);
    JSValue stack = JS_UNDEFINED;
    if (JS_IsError(ctx, e)) stack = JS_GetPropertyStr(ctx, e, "stack");
    size_t n1 = 0, n2 = 0;
    const char *s1 = JS_ToCStringLen(ctx, &n1, e);
    const char *s2 = JS_IsUndefined(stack) ? NULL : JS_ToCStringLen(ctx, &n2, stack);
    char *buf = malloc(n1 + n2 + 2);
    if (buf) {
        size_t n = 0;
        if (s1) { memcpy(buf, s1, n1); n = n1; }
        if (s2) { buf[n++] = '\n'; memcpy(buf + n, s2, n2); n += n2; }
        set_result(buf, n);
        free(buf);
    } else {
        set_result("out of memory", 13);
    }
    if (s1) JS_FreeCString(ctx, s1);
    if (s2) JS_FreeCString(ctx, s2);
    JS_FreeValue(ctx, stack);
    JS_FreeValue(ctx, e);
}

/* __atom_host(string) -> string: one synchronous request to the host. */
static JSValue js_host(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv) {
    size_t n;
    const char *s = JS_ToCStringLen(c, &n, argv[0]);
    if (!s) return JS_EXCEPTION;
    uint32_t m = atom_host_call(s, (uint32_t)n);
    JS_FreeCString(c, s);
    char *buf = malloc(m + 1);
    if (!buf) return JS_ThrowOutOfMemory(c);
    atom_host_read(buf);
    JSValue v = JS_NewStringLen(c, buf, m);
    free(buf);
    return v;
}

__attribute__((export_name("atom_js_init")))
int atom_js_init(uint32_t mem_limit) {
    rt = JS_NewRuntime();
    if (!rt) return 1;
    if (mem_limit) JS_SetMemoryLimit(rt, mem_limit);
    JS_SetMaxStackSize(rt, 768 * 1024);
    ctx = JS_NewContext(rt);
    if (!ctx) return 1;
    JSValue g = JS_GetGlobalObject(ctx);
    JS_SetPropertyStr(ctx, g, "__atom_host", JS_NewCFunction(ctx, js_host, "__atom_host", 1));
    JS_FreeValue(ctx, g);
    return 0;
}

__attribute__((export_name("atom_js_gc_settle")))
uint32_t atom_js_gc_settle(uint32_t headroom) {
    JSMemoryUsage u;
    JS_RunGC(rt);
    JS_ComputeMemoryUsage(rt, &u);
    JS_SetGCThreshold(rt, (size_t)u.malloc_size + headroom);
    return (uint32_t)(u.malloc_size >> 10);
}

__attribute__((export_name("atom_js_alloc")))
void *atom_js_alloc(uint32_t n) { return malloc(n ? n : 1); }

__attribute__((export_name("atom_js_free")))
void atom_js_free(void *p) { free(p); }

__attribute__((export_name("atom_js_result_ptr")))
char *atom_js_result_ptr(void) { return result; }

__attribute__((export_name("atom_js_result_len")))
uint32_t atom_js_result_len(void) { return (uint32_t)result_len; }

/* run_jobs runs pending promise jobs; 1 if one threw. */
static int run_jobs(void) {
    JSContext *c;
    for (;;) {
        int r = JS_ExecutePendingJob(rt, &c);
        if (r == 0) return 0;
        if (r < 0) { set_exception(); return 1; }
    }
}

__attribute__((export_name("atom_js_eval")))
int atom_js_eval(const char *src, uint32_t n) {
    /* JS_Eval wants a NUL after the source. */
    char *buf = malloc(n + 1);
    if (!buf) { set_result("out of memory", 13); return 1; }
    memcpy(buf, src, n);
    buf[n] = 0;
    JSValue v = JS_Eval(ctx, buf, n, "piece.js", JS_EVAL_TYPE_GLOBAL);
    free(buf);
    if (JS_IsException(v)) { set_exception(); return 1; }
    if (JS_IsString(v)) set_result_value(v);
    else set_result("", 0);
    JS_FreeValue(ctx, v);
    return run_jobs();
}

static int call_global(const char *name, int argc, JSValueConst *argv, JSValue *out) {
    JSValue g = JS_GetGlobalObject(ctx);
    JSValue f = JS_GetPropertyStr(ctx, g, name);
    JSValue v = JS_Call(ctx, f, g, argc, argv);
    JS_FreeValue(ctx, f);
    JS_FreeValue(ctx, g);
    if (JS_IsException(v)) { set_exception(); return 1; }
    *out = v;
    return 0;
}

__attribute__((export_name("atom_js_call")))
int atom_js_call(const char *in, uint32_t n) {
    JSValue arg = JS_NewStringLen(ctx, in, n);
    JSValue v;
    int err = call_global("__atom_call", 1, &arg, &v);
    JS_FreeValue(ctx, arg);
    if (err) return 1;
    JS_FreeValue(ctx, v);
    for (;;) {
        if (run_jobs()) return 1;
        if (call_global("__atom_tick", 0, NULL, &v)) return 1;
        if (JS_IsString(v)) {
            set_result_value(v);
            JS_FreeValue(ctx, v);
            return 0;
        }
        JS_FreeValue(ctx, v);
    }
}
