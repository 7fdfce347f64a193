export { type ConsoleSignInDeps, consoleReply, registerConsoleSignIn } from './sign-in-routes.ts';
