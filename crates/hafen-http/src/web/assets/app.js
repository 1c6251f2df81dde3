// Small enhancements of the server-rendered pages; everything works without them except
// the suggestions and the clipboard button. No inline code: CSP allows only this file.
'use strict';

(function () {
  const csrf = document.querySelector('meta[name="hafen-csrf"]')?.content || '';

  // Copy a link address to the clipboard; announce it on the button itself.
  document.addEventListener('click', async (event) => {
    const button = event.target.closest('button.copy-link');
    if (!button) return;
    const input = document.getElementById(button.dataset.copy);
    if (!input) return;
    const label = button.textContent;
    try {
      await navigator.clipboard.writeText(input.value);
    } catch (_) {
      // Clipboard API refused (no secure context): select the text so Ctrl+C copies it.
      input.focus();
      input.select();
      return;
    }
    button.textContent = button.dataset.copied || label;
    setTimeout(() => { button.textContent = label; }, 2000);
  });

  // Search as you type in the share dialog's recipient field.
  const field = document.getElementById('share-with');
  const options = document.getElementById('sharee-options');
  if (field && options) {
    let timer = null;
    let latest = 0;
    field.addEventListener('input', () => {
      clearTimeout(timer);
      const query = field.value.trim();
      if (query.length < 1 || query.includes(':')) return;
      timer = setTimeout(async () => {
        const ticket = ++latest;
        const response = await fetch('/apps/files/sharees?q=' + encodeURIComponent(query), {
          credentials: 'same-origin',
          headers: { 'requesttoken': csrf, 'Accept': 'application/json' },
        });
        if (!response.ok || ticket !== latest) return;
        const found = await response.json();
        options.replaceChildren(...found.map((item) => {
          const option = document.createElement('option');
          option.value = item.value;
          option.label = item.label;
          option.textContent = item.label;
          return option;
        }));
      }, 200);
    });
  }
})();
