// The classroom's start page: join a class with its code, or open one (a teacher).

import { describeError } from './lib/api.js';
import { request, withCode } from './lib/classroom.js';
import { t } from './lib/i18n.js';

const page = document.body.dataset;
const status = document.querySelector('[data-testid=start-status]');
const opened = document.querySelector('[data-testid=opened]');
const link = document.querySelector('[data-testid=teacher-link]');

document.querySelector('[data-testid=join-form]').addEventListener('submit', (event) => {
  event.preventDefault();
  const code = document.querySelector('[data-testid=join-code]').value.toUpperCase().replace(/[\s-]/g, '');
  if (code) location.assign(withCode(page.studentUrl, code));
});

document.querySelector('[data-testid=open-form]').addEventListener('submit', async (event) => {
  event.preventDefault();
  const admin = document.querySelector('[data-testid=admin-token]');
  status.textContent = t('Opening a class…');
  try {
    const answer = await request(page.classesUrl, { method: 'POST', token: admin ? admin.value : null });
    const url = new URL(withCode(page.teacherUrl, answer.code), location.href);
    url.hash = `teacher=${answer.teacher_token}`;
    document.querySelector('[data-testid=class-code]').textContent = answer.code;
    link.href = url.href;
    link.textContent = url.href;
    opened.hidden = false;
    status.textContent = t('Class %(code)s is open.', { code: answer.code });
    link.focus();
  } catch (error) {
    status.textContent = error.status === 401 || error.status === 403
      ? t('This server needs its password to open a class.')
      : describeError(error);
  }
});

document.querySelector('[data-testid=copy-link]').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(link.href);
    status.textContent = t('Link copied.');
  } catch (error) {
    status.textContent = t('Select the link and copy it.');
  }
});
