// The end of the OAuth popup: tell the integrations page that opened it
// how the connection went, then close. Without an opener (the popup was
// opened elsewhere, or the opener was closed) it links back instead.
'use strict';
(function () {
  const params = new URLSearchParams(location.search);
  const msg = {
    type: 'atom-connect',
    success: params.get('success') || '',
    error: params.get('error') || '',
  };
  let delivered = false;
  if (window.opener && !window.opener.closed) {
    try {
      window.opener.postMessage(msg, location.origin);
      delivered = true;
    } catch (e) {
      delivered = false;
    }
  }
  const title = document.getElementById('title');
  const text = document.getElementById('message');
  const back = document.getElementById('back');
  const q = new URLSearchParams();
  if (msg.success) {
    title.textContent = 'Connected';
    q.set('success', msg.success);
  } else {
    title.textContent = 'Not connected';
    q.set('error', msg.error || 'unknown');
  }
  back.href = '/integrations?' + q.toString();
  text.textContent = delivered
    ? 'You can return to the integrations page; this window closes itself.'
    : 'Return to the integrations page to see the result.';
  if (delivered) {
    window.close();
  }
})();
