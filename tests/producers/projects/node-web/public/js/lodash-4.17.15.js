/* lodash 4.17.15 stand-in for Bosun's producer tests */
window._ = {};
