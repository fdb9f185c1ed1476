// EcoIndex (cnumr/ecoindex_reference): quantiles from the HTTP Archive; the score places the
// page's DOM size, request count and transferred kilobytes among them.

const QUANTILES_DOM = [0, 47, 75, 159, 233, 298, 358, 417, 476, 537, 603, 674, 753, 843, 949, 1076, 1237, 1459, 1801, 2479, 594601];
const QUANTILES_REQ = [0, 2, 15, 25, 34, 42, 49, 56, 63, 70, 78, 86, 95, 105, 117, 130, 147, 170, 205, 281, 3920];
const QUANTILES_SIZE = [0, 1.37, 144.7, 319.53, 479.46, 631.97, 783.38, 937.91, 1098.62, 1265.47, 1448.32, 1648.27, 1876.08, 2142.06, 2465.37, 2866.31, 3401.59, 4155.73, 5400.08, 8037.54, 223212.26];

function quantile(quantiles, value) {
  for (let i = 1; i < quantiles.length; i++) {
    if (value < quantiles[i]) return i - 1 + (value - quantiles[i - 1]) / (quantiles[i] - quantiles[i - 1]);
  }
  return quantiles.length - 1;
}

export function ecoIndex(dom, requests, sizeKb) {
  return 100 - (5 * (3 * quantile(QUANTILES_DOM, dom) + 2 * quantile(QUANTILES_REQ, requests) + quantile(QUANTILES_SIZE, sizeKb))) / 6;
}

export function grade(score) {
  for (const [g, min] of [['A', 80], ['B', 70], ['C', 55], ['D', 40], ['E', 25], ['F', 10]]) {
    if (score > min) return g;
  }
  return 'G';
}
