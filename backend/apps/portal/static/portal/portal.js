// Copy buttons: <button data-copy="#element-id">Copy</button> copies the element's text.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const text = source.value !== undefined ? source.value : source.textContent.trim();
  const done = () => { button.textContent = "Copied"; setTimeout(() => { button.textContent = "Copy"; }, 2000); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
  } else {
    // Plain HTTP (make run on 127.0.0.1 is a secure context, a LAN address is not).
    const area = document.createElement("textarea");
    area.value = text; document.body.appendChild(area); area.select();
    document.execCommand("copy"); area.remove(); done();
  }
});
// Flash messages sent by htmx responses (HX-Trigger: {"flash": {"level": ..., "message": ...}}).
document.body && document.body.addEventListener("flash", (event) => {
  const box = document.getElementById("messages");
  if (!box) return;
  const p = document.createElement("p");
  p.className = "flash flash-" + (event.detail.level || "info");
  p.setAttribute("role", "status");
  p.textContent = event.detail.message;
  box.appendChild(p);
});
