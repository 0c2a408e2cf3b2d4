;;; eglot.el --- Baton's core flow in Eglot, in emacs --batch  -*- lexical-binding: t; -*-
;;
;; Run by tests/e2e/test_eglot.py with Debian's elpa-eglot (1.9) and the documented
;; snippet (docs/snippets/eglot.el): a run from `baton-run', the plan named in a
;; message (Eglot 1.9 has no window/showDocument), the "Accept plan" code action
;; picked through `eglot-code-actions', an edit in the open buffer after é😀, a closed
;; file edited (visited by Eglot, saved as the person would), a file created where
;; Eglot cannot create files, a permission prompt answered through completing-read,
;; a review finding in Flymake, and a revert that gives everything back.

(load (expand-file-name "harness.el" (file-name-directory load-file-name)) nil t)
(load (expand-file-name "snippets/eglot.el" (getenv "BATON_DOCS")) nil t)
(setq eglot-sync-connect t eglot-autoreconnect nil)
(setq baton-test-server-pid (lambda () (process-id (jsonrpc--process (eglot-current-server)))))
(advice-add 'eglot--message :before
            (lambda (fmt &rest args) (push (apply #'format fmt args) baton-test-messages)))
(cl-defmethod eglot-handle-notification :before
  (_server (_method (eql baton/runChanged)) &key runId state &allow-other-keys)
  (push (cons runId state) baton-test-states))

(setq baton-test-step "opening hello.py")
(find-file (expand-file-name "hello.py" baton-test-ws))
(defvar baton-test-hello-buffer (current-buffer))
(apply #'eglot--connect (eglot--guess-contact)) ; what eglot-ensure does after a command
(baton-test-wait "Eglot to manage hello.py" (lambda () (eglot-current-server)))

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
(baton-test-wait "Eglot to manage plan.md" (lambda () (eglot-current-server)))
(let ((last-nonmenu-event ?a)) ; a keyboard-driven choice: completing-read, not a menu
  (eglot-code-actions (point-min) (point-max) nil t))
(baton-test-wait-state baton-test-run "done")

(baton-test-check-run baton-test-hello-buffer)
(baton-test-check (equal (baton-test-read "NOTES.txt") "x is two now\n") ; Baton wrote it: Eglot cannot create
                  "NOTES.txt: %S" (baton-test-read "NOTES.txt"))
(with-current-buffer baton-test-hello-buffer
  (baton-test-wait "the review finding in Flymake"
                   (lambda ()
                     (flymake-start)
                     (cl-find-if (lambda (d) (string-search "name is unused" (flymake-diagnostic-text d)))
                                 (flymake-diagnostics)))))
(save-some-buffers t) ; as the person would
(baton-test-check (equal (baton-test-read "b.py") "a = 2\n") "b.py on disk: %S" (baton-test-read "b.py"))

(setq baton-test-step "baton-revert")
(set-buffer baton-test-hello-buffer)
(baton-revert baton-test-run)
(baton-test-check-revert baton-test-hello-buffer)

(setq baton-test-step "shutting down")
(eglot-shutdown (eglot-current-server))
(princ "SCENARIO OK\n")
(kill-emacs 0)
