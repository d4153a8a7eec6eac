// One view per operation of /api/explain (its "operation" field): each module renders the arithmetic of
// one cell of that operation into the panel (static/js/lib/explainpanel.js). A new operation is one
// more module here; its gradient twin sits beside it.

import * as conv from './conv.js';
import * as dense from './dense.js';
import * as dropout from './dropout.js';
import * as flatten from './flatten.js';
import * as input from './input.js';
import * as pool from './pool.js';
import * as relu from './relu.js';
import * as rescale from './rescale.js';
import * as softmax from './softmax.js';

/** operation -> render(view) */
export const VIEWS = {
  conv: conv.render,
  dense: dense.render,
  relu: relu.render,
  dropout: dropout.render,
  rescale: rescale.render,
  flatten: flatten.render,
  input: input.render,
  'max-pool': pool.render,
  'average-pool': pool.render,
  softmax: softmax.render,
};
