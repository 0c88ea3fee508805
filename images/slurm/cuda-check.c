/*
 * hyperscaler-cuda-check: a tiny CUDA computation that needs nothing but the host's driver
 * (libcuda.so.1, what the toolkit or a group's driverFiles bring into a node): it loads a
 * vector-add kernel as PTX (the driver compiles it for whatever GPU is there), adds 2^20
 * floats on each GPU the job may see, and checks every sum. scripts/gpu-check.sh runs it
 * as a job step.
 * Exit 0: every visible GPU computed correctly; 2: no GPU visible; 1: anything else.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef unsigned long long CUdeviceptr;
enum { CUDA_SUCCESS = 0, CUDA_ERROR_NO_DEVICE = 100, CU_JIT_ERROR_LOG_BUFFER = 5, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6 };

static const char PTX[] =
  ".version 6.0\n.target sm_50\n.address_size 64\n"
  ".visible .entry add(.param .u64 pa, .param .u64 pb, .param .u64 pc, .param .u32 pn)\n{\n"
  "  .reg .pred p;\n  .reg .b32 r<5>;\n  .reg .b64 rd<11>;\n  .reg .f32 f<4>;\n"
  "  ld.param.u64 rd1, [pa];\n  ld.param.u64 rd2, [pb];\n  ld.param.u64 rd3, [pc];\n  ld.param.u32 r1, [pn];\n"
  "  mov.u32 r2, %ctaid.x;\n  mov.u32 r3, %ntid.x;\n  mov.u32 r4, %tid.x;\n  mad.lo.s32 r2, r2, r3, r4;\n"
  "  setp.ge.u32 p, r2, r1;\n  @p bra DONE;\n"
  "  cvta.to.global.u64 rd4, rd1;\n  cvta.to.global.u64 rd5, rd2;\n  cvta.to.global.u64 rd6, rd3;\n"
  "  mul.wide.u32 rd7, r2, 4;\n  add.s64 rd8, rd4, rd7;\n  add.s64 rd9, rd5, rd7;\n  add.s64 rd10, rd6, rd7;\n"
  "  ld.global.f32 f1, [rd8];\n  ld.global.f32 f2, [rd9];\n  add.f32 f3, f1, f2;\n  st.global.f32 [rd10], f3;\n"
  "DONE:\n  ret;\n}\n";

static void *cuda;
static CUresult (*cuGetErrorString)(CUresult, const char **);

static void *need(const char *name) {
  void *f = dlsym(cuda, name);
  if (!f) { fprintf(stderr, "cuda-check: the driver has no %s\n", name); exit(1); }
  return f;
}

static void check(CUresult r, const char *what) {
  if (r == CUDA_SUCCESS) return;
  const char *why = "unknown error";
  if (cuGetErrorString) cuGetErrorString(r, &why);
  fprintf(stderr, "cuda-check: %s failed: %s (%d)\n", what, why, r);
  exit(1);
}

int main(void) {
  cuda = dlopen("libcuda.so.1", RTLD_NOW);
  if (!cuda) {
    fprintf(stderr, "cuda-check: no CUDA driver in this node (%s); give the node the host's driver "
                    "(gpus.access: toolkit or cdi, or gpus.driverFiles)\n", dlerror());
    return 1;
  }
  cuGetErrorString = dlsym(cuda, "cuGetErrorString");
  CUresult (*cuInit)(unsigned) = need("cuInit");
  CUresult (*cuDeviceGetCount)(int *) = need("cuDeviceGetCount");
  CUresult (*cuDeviceGet)(CUdevice *, int) = need("cuDeviceGet");
  CUresult (*cuDeviceGetName)(char *, int, CUdevice) = need("cuDeviceGetName");
  CUresult (*cuCtxCreate)(CUcontext *, unsigned, CUdevice) = need("cuCtxCreate_v2");
  CUresult (*cuCtxDestroy)(CUcontext) = need("cuCtxDestroy_v2");
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *, void **) = need("cuModuleLoadDataEx");
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *) = need("cuModuleGetFunction");
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t) = need("cuMemAlloc_v2");
  CUresult (*cuMemFree)(CUdeviceptr) = need("cuMemFree_v2");
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t) = need("cuMemcpyHtoD_v2");
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t) = need("cuMemcpyDtoH_v2");
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void *, void **, void **) =
    need("cuLaunchKernel");
  CUresult (*cuCtxSynchronize)(void) = need("cuCtxSynchronize");

  const char *visible = getenv("CUDA_VISIBLE_DEVICES");
  CUresult r = cuInit(0);
  int count = 0;
  if (r == CUDA_SUCCESS) check(cuDeviceGetCount(&count), "cuDeviceGetCount");
  if (r == CUDA_ERROR_NO_DEVICE || (r == CUDA_SUCCESS && count == 0)) {
    printf("cuda-check: no GPU visible (CUDA_VISIBLE_DEVICES=%s)\n", visible ? visible : "(unset)");
    return 2;
  }
  check(r, "cuInit");

  enum { N = 1 << 20 };
  float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b), *c = malloc(N * sizeof *c);
  for (int i = 0; i < N; i++) { a[i] = (float)i; b[i] = (float)(2 * i); }
  for (int d = 0; d < count; d++) {
    CUdevice dev; CUcontext ctx; CUmodule mod; CUfunction add; CUdeviceptr da, db, dc;
    char name[256];
    check(cuDeviceGet(&dev, d), "cuDeviceGet");
    check(cuDeviceGetName(name, sizeof name, dev), "cuDeviceGetName");
    check(cuCtxCreate(&ctx, 0, dev), "cuCtxCreate");
    char log[4096] = "";
    int options[] = { CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES };
    void *values[] = { log, (void *)(size_t)sizeof log };
    r = cuModuleLoadDataEx(&mod, PTX, 2, options, values);
    if (r != CUDA_SUCCESS) fprintf(stderr, "cuda-check: the driver's PTX compiler said: %s\n", log);
    check(r, "cuModuleLoadDataEx");
    check(cuModuleGetFunction(&add, mod, "add"), "cuModuleGetFunction");
    check(cuMemAlloc(&da, N * sizeof *a), "cuMemAlloc");
    check(cuMemAlloc(&db, N * sizeof *b), "cuMemAlloc");
    check(cuMemAlloc(&dc, N * sizeof *c), "cuMemAlloc");
    check(cuMemcpyHtoD(da, a, N * sizeof *a), "cuMemcpyHtoD");
    check(cuMemcpyHtoD(db, b, N * sizeof *b), "cuMemcpyHtoD");
    unsigned n = N;
    void *args[] = { &da, &db, &dc, &n };
    check(cuLaunchKernel(add, N / 256, 1, 1, 256, 1, 1, 0, NULL, args, NULL), "cuLaunchKernel");
    check(cuCtxSynchronize(), "cuCtxSynchronize");
    check(cuMemcpyDtoH(c, dc, N * sizeof *c), "cuMemcpyDtoH");
    for (int i = 0; i < N; i++) {
      if (c[i] != (float)(3 * i)) { fprintf(stderr, "cuda-check: GPU %d (%s): element %d is %g, not %d\n", d, name, i, c[i], 3 * i); return 1; }
    }
    cuMemFree(da); cuMemFree(db); cuMemFree(dc);
    cuCtxDestroy(ctx);
    printf("cuda-check: GPU %d of %d (%s): added %d floats, every sum right (CUDA_VISIBLE_DEVICES=%s)\n",
           d, count, name, N, visible ? visible : "(unset)");
  }
  return 0;
}
