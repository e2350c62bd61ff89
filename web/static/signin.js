// signin.js: trades an access token for a session cookie, then opens the dashboard.
const form = document.getElementById('signin');
const error = document.getElementById('error');

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  error.hidden = true;
  const token = document.getElementById('token').value.trim();
  const button = form.querySelector('button');
  button.disabled = true;
  try {
    const r = await fetch('/v1/session', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token }),
      credentials: 'same-origin',
    });
    if (r.ok) {
      location.replace('/');
      return;
    }
    const e = await r.json().catch(() => ({}));
    error.textContent = e.message || `Sign-in failed (HTTP ${r.status}).`;
  } catch (e) {
    error.textContent = `Cannot reach berthd: ${e.message}`;
  }
  error.hidden = false;
  button.disabled = false;
});
