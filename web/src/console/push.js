// Console → Push: outcome totals by result from the metrics snapshot, and per user the stored outcomes and pending
// pushes over /api/admin/push (docs/PROTOCOL.md#offline-push).
export function pushView({ $, el, api, failed, jsonTable }) {
  function totals(m) {
    const rows = Object.entries(m.pushOutcomes ?? {}).sort(([a], [b]) => a.localeCompare(b));
    $('push-totals').replaceChildren(...(rows.length ? rows : [['(none yet)', 0]]).map(([result, count]) => {
      const tr = el('tr');
      tr.dataset.result = result;
      tr.append(el('td', 'mono', result), el('td', '', Number(count).toLocaleString('en-US')));
      return tr;
    }), (() => {
      const tr = el('tr');
      tr.append(el('td', 'muted', 'pending jobs'), el('td', '', String(m.pushPendingJobs ?? 0)));
      return tr;
    })());
  }

  async function show(call) {
    try {
      const rows = await call();
      $('push-result').replaceChildren(rows.length ? jsonTable(rows) : el('p', 'muted', 'no entries'));
    } catch (error) {
      failed(error);
    }
  }

  $('push-query').addEventListener('submit', (event) => {
    event.preventDefault();
    show(() => api('GET', `/api/admin/push/outcomes?userId=${encodeURIComponent($('push-user').value.trim())}&limit=100`));
  });
  $('push-pending').addEventListener('click', () => show(() => api('GET', '/api/admin/push/pending')));
  return { totals };
}
