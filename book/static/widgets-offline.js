// Loaded on pages with Jupyter widgets, after require.js and before the widget manager (see _config.yml,
// nb_ipywidgets_js). Two fixes that keep those pages working offline with MathJax 3:
(function () {
  // 1. The widget manager (@jupyter-widgets/html-manager, AMD build) finds its fonts relative to the URL of its
  //    own AMD module. Map that module to the copy served beside this file (_static/html-manager/), so the fonts
  //    are not looked up under the page's folder.
  var here = document.currentScript && document.currentScript.src;
  if (here && window.require && window.require.config) {
    var staticDir = here.slice(0, here.lastIndexOf("/") + 1);
    // The bundle also defines named modules (@jupyter-widgets/base, controls, html-manager, ...) that compute
    // their own public path from their module URL: map those names into the same folder too.
    var paths = { "@jupyter-widgets/html-manager/dist": staticDir + "html-manager" };
    ["base", "base7", "controls", "controls7", "html-manager"].forEach(function (name) {
      paths["@jupyter-widgets/" + name] = staticDir + "html-manager/" + name;
    });
    window.require.config({ paths: paths });
  }
  // 2. The widget manager typesets labels with the MathJax 2 call MathJax.Hub.Queue; MathJax 3 has no Hub.
  //    Give every MathJax object (the config now, MathJax itself once loaded) a Hub that calls MathJax 3.
  var hub = {
    Queue: function (cmd) {
      var mj = window.MathJax, el = cmd && cmd[2];
      if (mj && mj.typesetPromise && el) { mj.typesetPromise([el]).catch(function () {}); }
    }
  };
  var current = window.MathJax;
  if (current && !current.Hub) { current.Hub = hub; }
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return current; },
    set: function (value) {
      current = value;
      if (value && typeof value === "object" && !value.Hub) { value.Hub = hub; }
    }
  });
})();
