// Package layering has no code: its test keeps the imports between Strait's
// packages flowing one way (see TestImportsFollowTheFlow and the README's Layout).
package layering
