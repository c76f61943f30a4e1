# Writes the .npy fixtures of votesio_test.go with NumPy (Debian's
# python3-numpy): one small Snorkel-style L matrix in several dtypes and
# layouts. Run from this folder: /usr/bin/python3 make_npy.py
import numpy as np

L = np.array([[0, 1, -1], [-1, -1, -1], [1, 1, 0], [2, -1, 1]])
np.save("L_int64.npy", L.astype("<i8"))
np.save("L_int8.npy", L.astype("i1"))
np.save("L_int32_be.npy", L.astype(">i4"))
np.save("L_float64.npy", L.astype("<f8"))
np.save("L_fortran.npy", np.asfortranarray(L.astype("<i2")))
