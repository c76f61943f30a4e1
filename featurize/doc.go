// Package featurize turns raw table rows into sparse feature vectors for
// dawn's end models, and is saved inside each model so that prediction takes
// the same raw rows as training.
//
// Text columns become hashed word n-grams (1..n) and optional character
// n-grams, counted, optionally lower-cased and TF-IDF weighted (smoothed idf
// as scikit-learn computes it, then L2-normalized per column). Numeric
// columns are standardized with the training mean and standard deviation.
// Categorical columns are one-hot encoded over the training vocabulary or
// hashed. Hashed features share the first 2^Bits indices; numeric and one-hot
// features follow them.
//
// Transform appends rows to a CSR Matrix and allocates nothing per row once
// the matrix's buffers have grown.
package featurize
