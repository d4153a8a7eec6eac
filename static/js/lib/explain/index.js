// One view per operation of /api/explain (its "operation" field): each module renders the arithmetic of
// one cell of that operation into the panel (static/js/lib/explainpanel.js). A new operation is one
// more module here; its gradient twin sits beside it.

import * as batchnorm from './batchnorm.js';
import * as conv from './conv.js';
import * as dense from './dense.js';
import * as dropout from './dropout.js';
import * as flatten from './flatten.js';
import * as globalpool from './globalpool.js';
import * as input from './input.js';
import * as linear from './linear.js';
import * as pool from './pool.js';
import * as relu from './relu.js';
import * as rescale from './rescale.js';
import * as sigmoid from './sigmoid.js';
import * as softmax from './softmax.js';
import * as tanh from './tanh.js';
import * as zeropad from './zeropad.js';

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
  // The kinds imported networks add (python -m train.import, docs/import.md).
  sigmoid: sigmoid.render,
  tanh: tanh.render,
  linear: linear.render,
  'batch-norm': batchnorm.render,
  'global-average-pool': globalpool.render,
  'zero-padding': zeropad.render,
};
