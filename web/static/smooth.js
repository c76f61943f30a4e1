// Smoothing for metric charts. ema is TensorBoard's exponential moving
// average with de-biasing: the running average starts at 0 and is divided
// by 1 - weight^n, so the first points are not pulled towards zero.
// Non-finite values pass through unchanged and do not update the average.
(function (root) {
  function ema(values, weight) {
    var out = new Array(values.length);
    if (!(weight > 0)) {
      for (var i = 0; i < values.length; i++) out[i] = values[i];
      return out;
    }
    var last = 0, n = 0;
    for (var j = 0; j < values.length; j++) {
      var v = values[j];
      if (v === null || !isFinite(v)) { out[j] = v; continue; }
      last = last * weight + (1 - weight) * v;
      n++;
      out[j] = weight === 1 ? v : last / (1 - Math.pow(weight, n));
    }
    return out;
  }
  var api = { ema: ema };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.dawnSmooth = api;
})(this);
