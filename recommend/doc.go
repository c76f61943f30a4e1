// Package recommend is dawn's recommender: interactions (user, item,
// optional rating or weight, optional time) in, ranked items out.
//
// It reads interactions from any file dawn reads (columns by name), splits
// them as Microsoft Recommenders does (per-user stratified random, or per
// user by time), trains one of several models on plain slices using all
// cores, evaluates with Microsoft Recommenders' ranking metrics (precision,
// recall, NDCG and MAP at k, seen items removed) and RMSE/MAE for ratings,
// tunes hyper-parameters on a validation split of the training data, and
// saves a model directory (an MLmodel file with model_type "recommend").
//
// Models: popularity; item-item kNN (cosine, BM25 or TF-IDF weighting);
// explicit matrix factorisation with biases (ALS or SGD); implicit ALS
// (Hu, Koren and Volinsky, solved with conjugate gradient); BPR; EASE^R;
// SAR. Every model is deterministic given its seed.
//
// Ties between equal scores are broken by item index (the order in which
// items first appear in the training data), everywhere: in Recommend, in
// the evaluation and in the exact top-K index of package recommend/mips.
package recommend
