// Stylesheets imported from front-end code are bundled by Bun into the page; they export nothing.
declare module "*.css";
