;;; lsp_mode.el --- Baton's core flow in lsp-mode, in emacs --batch  -*- lexical-binding: t; -*-
;;
;; Run by tests/e2e/test_lsp_mode.py with Debian's elpa-lsp-mode (8.0) and the documented
;; snippet (docs/snippets/lsp-mode.el): a run from `baton-run' (a synchronous request, whose
;; answer lsp-mode reads in chunks that lose what follows it), the plan named in a message,
;; the "Accept plan" code action, an edit after é😀 in the open buffer (lsp-mode counts code
;; points: Baton uses utf-32 for it), a closed file, a file created, a permission through
;; completing-read, and a revert that gives everything back.

(load (expand-file-name "harness.el" (file-name-directory load-file-name)) nil t)
(package-initialize) ; the autoloads of lsp-mode's parts, as a person's init file has them
(require 'lsp-mode)
(setq lsp-auto-guess-root t lsp-enabled-clients '(baton) lsp-enable-file-watchers nil
      lsp-restart 'ignore lsp-keep-workspace-alive nil lsp-enable-snippet nil)
(load (expand-file-name "snippets/lsp-mode.el" (getenv "BATON_DOCS")) nil t)
(setq baton-test-server-pid
      (lambda () (process-id (lsp--workspace-proc (lsp-find-workspace 'baton nil)))))
(advice-add 'baton--run-changed :before
            (lambda (_workspace run) (push (cons (lsp-get run :runId) (lsp-get run :state))
                                           baton-test-states)))

(setq baton-test-step "opening hello.py")
(find-file (expand-file-name "hello.py" baton-test-ws))
(defvar baton-test-hello-buffer (current-buffer))
(lsp)
(baton-test-wait "lsp-mode to start Baton"
                 (lambda () (when-let ((w (lsp-find-workspace 'baton nil)))
                              (eq (lsp--workspace-status w) 'initialized))))

(setq baton-test-step "baton-run")
(baton-run "Greet by name and take notes")
(defvar baton-test-run baton-last-run)
(baton-test-check (stringp baton-test-run) "no run id: %S" baton-test-run)
(baton-test-wait-state baton-test-run "awaiting_approval")
(defvar baton-test-plan (expand-file-name (format ".baton/runs/%s/plan.md" baton-test-run) baton-test-ws))
(baton-test-wait "the plan named in a message, with how to accept"
                 (lambda () (cl-find-if (lambda (m) (and (string-search baton-test-plan m)
                                                         (string-search "Accept plan" m)))
                                        baton-test-messages)))

(setq baton-test-step "Accept plan")
(find-file baton-test-plan)
(lsp)
(baton-test-wait "lsp-mode to manage plan.md" (lambda () (lsp-find-workspace 'baton nil)))
(lsp-execute-code-action (cl-find-if (lambda (a) (equal (lsp-get a :title) "Accept plan"))
                                     (lsp-code-actions-at-point)))
(baton-test-wait-state baton-test-run "done")

(baton-test-check-run baton-test-hello-buffer)
(save-some-buffers t) ; as the person would
(baton-test-check (equal (baton-test-read "NOTES.txt") "x is two now\n") "NOTES.txt: %S"
                  (baton-test-read "NOTES.txt"))

(setq baton-test-step "baton-revert")
(set-buffer baton-test-hello-buffer)
(baton-revert baton-test-run)
(baton-test-check-revert baton-test-hello-buffer)

(princ "SCENARIO OK\n")
(kill-emacs 0)
