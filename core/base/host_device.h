// MOESCOPE_HD marks a function that nvcc compiles for the GPU as well as the host, so that the
// per-token and per-pair rules are written once for both backends.
#pragma once

#if defined(__CUDACC__)
#define MOESCOPE_HD __host__ __device__
#else
#define MOESCOPE_HD
#endif
