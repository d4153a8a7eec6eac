// One view per operation, chosen by the answer's "operation" (as lib/explain/<operation>.js on /layers).

import * as activation from './activation.js';
import * as batchnorm from './batchnorm.js';
import * as conv from './conv.js';
import * as dense from './dense.js';
import * as globalpool from './globalpool.js';
import * as passthrough from './passthrough.js';
import * as pool from './pool.js';
import * as relu from './relu.js';
import * as softmax from './softmax.js';
import * as zeropad from './zeropad.js';

const VIEWS = {
  conv: conv.renderInput,
  'conv-kernel': conv.renderKernel,
  bias: conv.renderBias,
  dense: dense.renderInput,
  'dense-kernel': dense.renderKernel,
  relu: relu.renderInput,
  'max-pool': pool.renderMax,
  'average-pool': pool.renderAverage,
  'softmax-cross-entropy': softmax.renderLoss,
  'cross-entropy': softmax.renderProbability,
  softmax: softmax.renderSoftmax,
  // The kinds imported networks add (python -m train.import, docs/import.md).
  sigmoid: activation.render,
  tanh: activation.render,
  linear: activation.render,
  'batch-norm': batchnorm.renderInput,
  'batch-norm-gamma': batchnorm.renderGamma,
  'batch-norm-beta': batchnorm.renderBeta,
  'global-average-pool': globalpool.render,
  'zero-padding': zeropad.render,
};

/** The view of one gradient cell's terms. */
export function renderTerms(answer) {
  return (VIEWS[answer.operation] ?? passthrough.render)(answer);
}
