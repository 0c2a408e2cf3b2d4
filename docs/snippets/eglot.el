;;; baton-eglot.el --- Baton with Eglot  -*- lexical-binding: t; -*-
;;
;; Works with Debian's elpa-eglot 1.9 (Emacs 28) and with the Eglot built into
;; Emacs 29 and later. Put it in your init file; `baton' must be on your PATH.
;; Eglot runs one server per buffer: in the modes listed below Baton replaces any
;; other language server (lsp-mode can run both side by side; see docs/editors.md).

(require 'eglot)
(require 'cl-lib)

(defvar baton-modes '(python-mode text-mode)
  "Major modes whose buffers Baton attaches to (Baton's plans open in `text-mode'
unless `markdown-mode' is installed).")

(unless (fboundp 'markdown-mode)
  (add-to-list 'auto-mode-alist '("\\.md\\'" . text-mode)))
(add-to-list 'eglot-server-programs (cons baton-modes '("baton" "serve")))
(dolist (mode baton-modes)
  (add-hook (intern (format "%s-hook" mode)) #'eglot-ensure))

(defvar baton-last-run nil "The id of the last run started from this Emacs.")

;; Every state change of a run. Eglot warns about notifications it does not
;; know; this one says the states that need you instead.
(cl-defmethod eglot-handle-notification
  (_server (_method (eql baton/runChanged)) &key runId state question error
           &allow-other-keys)
  (pcase state
    ("awaiting_approval"
     (message "Baton %s: plan ready: open it, then M-x eglot-code-actions \"Accept plan\"" runId))
    ("awaiting_input"
     (message "Baton %s asks: %s (M-x baton-answer)" runId (plist-get question :text)))
    ("awaiting_apply"
     (message "Baton %s: changes held: \"Apply changes\" code action in changes.diff" runId))
    ("done" (message "Baton %s: done" runId))
    ("failed" (message "Baton %s failed: %s" runId error))))

(defun baton-command (command arg)
  "Run the Baton COMMAND (workspace/executeCommand) with the object ARG (a plist)."
  (let ((server (or (eglot-current-server)
                    (user-error "Baton is not running in this buffer"))))
    (if (fboundp 'eglot-execute)        ; Eglot 1.14 and later
        (eglot-execute server `(:title ,command :command ,command :arguments [,arg]))
      (eglot-execute-command server command (vector arg)))))

(defun baton-run (task)
  "Start a Baton run on TASK, with the region as its context when active."
  (interactive "sBaton task: ")
  (let ((arg (list :task task :uri (eglot--path-to-uri buffer-file-name))))
    (when (use-region-p)
      (setq arg (append arg (list :range (list :start (eglot--pos-to-lsp-position (region-beginning))
                                               :end (eglot--pos-to-lsp-position (region-end)))))))
    (setq baton-last-run (plist-get (baton-command "baton.run" arg) :runId))
    (message "Baton run %s" baton-last-run)))

(defun baton-answer (run-id answer)
  "Answer the question of RUN-ID."
  (interactive (list (read-string "Run: " baton-last-run) (read-string "Answer: ")))
  (baton-command "baton.run.answer" (list :runId run-id :answer answer)))

(defun baton-revert (run-id)
  "Undo what RUN-ID applied."
  (interactive (list (read-string "Run: " baton-last-run)))
  (baton-command "baton.run.revert" (list :runId run-id)))

(defun baton-cancel (run-id)
  "Stop RUN-ID."
  (interactive (list (read-string "Run: " baton-last-run)))
  (baton-command "baton.run.cancel" (list :runId run-id)))

(provide 'baton-eglot)
;;; baton-eglot.el ends here
