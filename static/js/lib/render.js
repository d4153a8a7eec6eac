// DOM updates: the verdict, the ten bars, the 28x28 image the model saw.

const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });

/** Create the ten bar rows once; `renderProbabilities` fills them. */
export function buildBars(list) {
  list.replaceChildren();
  for (let digit = 0; digit < 10; digit += 1) {
    const row = document.createElement('li');
    row.className = 'bar-row';
    row.dataset.digit = String(digit);
    const label = document.createElement('span');
    label.className = 'bar-label';
    label.textContent = String(digit);
    const track = document.createElement('span');
    track.className = 'bar-track';
    const fill = document.createElement('span');
    fill.className = 'bar-fill';
    track.append(fill);
    const value = document.createElement('span');
    value.className = 'bar-value';
    value.textContent = '–';
    row.append(label, track, value);
    list.append(row);
  }
}

/** Fill the bars; the top one is marked. `probabilities` null empties them. */
export function renderProbabilities(list, probabilities) {
  const best = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
  for (const row of list.children) {
    const digit = Number(row.dataset.digit);
    const value = probabilities ? probabilities[digit] : 0;
    row.querySelector('.bar-fill').style.width = `${(value * 100).toFixed(2)}%`;
    row.querySelector('.bar-value').textContent = probabilities ? percent.format(value) : '–';
    row.classList.toggle('top', digit === best);
    row.setAttribute('aria-label', probabilities ? `${digit}: ${percent.format(value)}` : `${digit}`);
  }
}

/** Draw a 28x28 grey image enlarged, each pixel a visible cell; `pixels` null clears it. */
export function renderImage(canvas, pixels, { grid = true } = {}) {
  const context = canvas.getContext('2d');
  const size = canvas.width;
  const rows = pixels ? pixels.length : 28;
  const cell = size / rows;
  const styles = getComputedStyle(canvas);
  context.fillStyle = styles.getPropertyValue('--cell-empty').trim() || '#000';
  context.fillRect(0, 0, size, size);
  if (pixels) {
    pixels.forEach((row, y) => {
      row.forEach((value, x) => {
        if (value === 0) return;
        context.fillStyle = `rgb(${value} ${value} ${value})`;
        context.fillRect(x * cell, y * cell, cell, cell);
      });
    });
  }
  if (grid && cell >= 4) {
    context.strokeStyle = styles.getPropertyValue('--cell-grid').trim() || 'rgba(128,128,128,0.25)';
    context.lineWidth = 1;
    context.beginPath();
    for (let index = 1; index < rows; index += 1) {
      const at = Math.round(index * cell) + 0.5;
      context.moveTo(at, 0);
      context.lineTo(at, size);
      context.moveTo(0, at);
      context.lineTo(size, at);
    }
    context.stroke();
  }
}
