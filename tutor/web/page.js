// Article tutor: browser-side behaviour of the full page and the widget
// (loaded into <head> by tutor/web/app.py). Three jobs, all by event delegation
// or by patching what Gradio renders, so it survives Gradio re-rendering:
//  1. live citations: a [n] link (or footnote number) opens its source in the
//     Sources panel (tab or drawer), the cited sentence highlighted and
//     scrolled into view; "Show in the article" scrolls to the first mark;
//  2. accessibility that Gradio's markup lacks: the mode switch is one named
//     radio group (one tab stop, arrow keys), chat messages are labelled by
//     speaker, scrollable panels are focusable;
//  3. the "New conversation" confirmation moves focus into its choices.
(() => {
  if (window.__tutorPage) return;
  window.__tutorPage = true;

  const wait = (find, timeout = 3000) => new Promise((resolve) => {
    const started = Date.now();
    const tick = () => {
      const found = find();
      if (found || Date.now() - started > timeout) resolve(found || null);
      else setTimeout(tick, 40);
    };
    tick();
  });

  const visible = (el) => !!el && el.getClientRects().length > 0;

  function revealPanel() {
    // full page: the "Sources" tab; widget: the "Sources" drawer
    const tab = [...document.querySelectorAll('button[role="tab"]')]
      .find((b) => b.textContent.trim().startsWith('Sources'));
    if (tab && tab.getAttribute('aria-selected') !== 'true') tab.click();
    const drawer = document.querySelector('#tutor-sources-drawer');
    if (drawer && !visible(drawer.querySelector('#tutor-sources'))) {
      const toggle = drawer.querySelector('button, .label-wrap');
      if (toggle) toggle.click();
    }
  }

  async function showSource(id) {
    revealPanel();
    const box = await wait(() => {
      const el = document.getElementById(id);
      return visible(el) || (el && el.closest('details')) ? el : null;
    });
    if (!box) return;
    box.open = true;
    box.classList.add('tutor-src-active');
    setTimeout(() => box.classList.remove('tutor-src-active'), 2500);
    const mark = box.querySelector('mark') || box;
    await wait(() => visible(mark) && mark);
    mark.setAttribute('tabindex', '-1');
    mark.scrollIntoView({block: 'center', behavior: 'instant'});
    mark.focus({preventScroll: true});
  }

  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a.tutor-ref, a.tutor-fn');
    if (!link) return;
    const id = (link.getAttribute('href') || '').replace(/^#/, '');
    if (!id.startsWith('tutor-src-')) return;
    event.preventDefault();
    showSource(id);
  });

  // "Show in the article" (widget) and the Article tab (page): first mark in view
  document.addEventListener('toggle', (event) => {
    const details = event.target;
    if (!details.matches || !details.matches('details.tutor-in-article') || !details.open) return;
    const mark = details.querySelector('mark');
    if (mark) setTimeout(() => mark.scrollIntoView({block: 'center', behavior: 'instant'}), 30);
  }, true);

  function patch() {
    const mode = document.querySelector('#tutor-mode');
    if (mode) {
      if (mode.getAttribute('role') !== 'radiogroup') {
        mode.setAttribute('role', 'radiogroup');
        mode.setAttribute('aria-label', 'Mode');
      }
      mode.querySelectorAll('input[type="radio"]').forEach((r) => {
        if (r.name !== 'tutor-mode') r.name = 'tutor-mode';
      });
    }
    document.querySelectorAll('[data-testid="bot"], [data-testid="user"]').forEach((m) => {
      const who = m.dataset.testid === 'bot' ? "Tutor's message" : 'Your message';
      if (m.getAttribute('aria-label') !== who) m.setAttribute('aria-label', who);
      if (m.getAttribute('role') !== 'article') m.setAttribute('role', 'article');
    });
    document.querySelectorAll('.tutor-article, [role="log"]').forEach((el) => {
      if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '0');
    });
    document.querySelectorAll('#tutor-chat .examples[role="list"]').forEach((el) => {
      // Gradio marks the starter buttons' box as a list without list items
      el.setAttribute('role', 'group');
      el.setAttribute('aria-label', 'Questions to start with');
    });
  }

  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; patch(); });
  }).observe(document.documentElement, {subtree: true, childList: true, attributes: true,
    attributeFilter: ['aria-label', 'name', 'role']});
  document.addEventListener('DOMContentLoaded', patch);
})();
