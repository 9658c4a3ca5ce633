// `npm run bench` entry point: every benchmark under bench/ (for now the OSTree one).
import './ostree.js';
