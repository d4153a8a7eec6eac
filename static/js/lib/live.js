// Live reading while drawing: throttled requests, only the newest answer shown.
//
// The drawing has a version that grows with every change. At most one request
// is in flight: a new one aborts the old, so an answer that arrives is always
// the newest request's. While drawing, requests go at most every `interval`
// ms; when a stroke ends, one goes at once for the finished drawing. `state`
// is `pending` from a change until the answer for the latest version is
// shown, then `done`.

export class LiveReader {
  constructor({ request, onAnswer, onError, onState, interval = 250 }) {
    this.request = request; // (signal) => Promise<answer>, for the drawing as it is now
    this.onAnswer = onAnswer;
    this.onError = onError;
    this.onState = onState;
    this.interval = interval;
    this.version = 0;
    this.controller = null;
    this.timer = null;
    this.lastSent = -Infinity;
  }

  /** The drawing changed; `final` when a stroke just ended (or after undo). */
  changed({ final = false } = {}) {
    this.version += 1;
    this.onState('pending');
    if (final) {
      this.#sendNow();
    } else if (!this.timer && !this.controller) {
      this.#schedule();
    }
  }

  /** Nothing to read (the pad was cleared): drop whatever is pending. */
  reset() {
    this.version += 1;
    this.#cancel();
    this.onState('done');
  }

  #schedule() {
    const wait = Math.max(0, this.lastSent + this.interval - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.#send();
    }, wait);
  }

  #cancel() {
    clearTimeout(this.timer);
    this.timer = null;
    this.controller?.abort();
    this.controller = null;
  }

  #sendNow() {
    this.#cancel();
    this.#send();
  }

  async #send() {
    const controller = new AbortController();
    this.controller = controller;
    const version = this.version;
    this.lastSent = performance.now();
    try {
      const answer = await this.request(controller.signal);
      if (controller.signal.aborted) return;
      this.onAnswer(answer, { latest: version === this.version });
    } catch (error) {
      if (controller.signal.aborted || error.name === 'AbortError') return;
      this.onError(error, { latest: version === this.version });
    } finally {
      if (this.controller === controller) {
        this.controller = null;
        if (version === this.version) {
          this.onState('done');
        } else if (!this.timer) {
          this.#schedule(); // the drawing moved on while this request was out
        }
      }
    }
  }
}
