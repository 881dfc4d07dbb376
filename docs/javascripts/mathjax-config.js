// MathJax 3 configuration for pymdownx.arithmatex (generic mode). It must run before
// javascripts/mathjax/tex-chtml.js, the MathJax build served from this site (no CDN):
// arithmatex wraps every formula in class="arithmatex" as \( ... \) or \[ ... \], and
// MathJax typesets only those elements.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
    // an undefined macro is a TeX error (an mjx-merror, which the browser test finds),
    // not red text; autoload would fetch extension files this site does not ship
    packages: { "[-]": ["noundefined", "autoload"] },
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
  chtml: {
    // the fonts lie next to tex-chtml.js, in output/chtml/fonts/woff-v2/
    fontURL: new URL("mathjax/output/chtml/fonts/woff-v2", document.currentScript.src).href,
  },
};
