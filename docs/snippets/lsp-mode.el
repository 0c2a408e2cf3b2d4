;;; baton-lsp-mode.el --- Baton with lsp-mode  -*- lexical-binding: t; -*-
;;
;; For lsp-mode 8.0 and later (Debian: elpa-lsp-mode). Put it in your init file;
;; `baton' must be on your PATH. Baton runs as an add-on server, beside the
;; language server you already use.

(require 'lsp-mode)
(require 'ht)

(defvar baton-last-run nil "The id of the last run started from this Emacs.")

(defun baton--run-changed (_workspace run)
  "Every state change of a RUN. Registering it also silences lsp-mode's
\"Unknown notification: baton/runChanged\" warning."
  (let ((id (lsp-get run :runId)) (state (lsp-get run :state)))
    (pcase state
      ("awaiting_approval"
       (message "Baton %s: plan ready: open it, then M-x lsp-execute-code-action \"Accept plan\"" id))
      ("awaiting_input"
       (message "Baton %s asks: %s (M-x baton-answer)" id
                (lsp-get (lsp-get run :question) :text)))
      ("awaiting_apply"
       (message "Baton %s: changes held: \"Apply changes\" code action in changes.diff" id))
      ("done" (message "Baton %s: done" id))
      ("failed" (message "Baton %s failed: %s" id (lsp-get run :error))))))

(lsp-register-client
 (make-lsp-client
  :new-connection (lsp-stdio-connection '("baton" "serve"))
  :activation-fn (lambda (&rest _) t)   ; every file: Baton works on any language
  :add-on? t                            ; beside the language's own server
  :server-id 'baton
  :notification-handlers (ht ("baton/runChanged" #'baton--run-changed))))

(defun baton-command (command arg)
  "Run the Baton COMMAND (workspace/executeCommand) with the object ARG (a plist),
on Baton's server only (`lsp-workspace-command-execute' would ask every server)."
  (with-lsp-workspace (or (lsp-find-workspace 'baton nil)
                          (user-error "Baton is not running for this buffer"))
    (lsp-request "workspace/executeCommand" (list :command command :arguments (vector arg)))))

(defun baton-run (task)
  "Start a Baton run on TASK, with the region as its context when active."
  (interactive "sBaton task: ")
  (let ((arg (list :task task :uri (lsp--buffer-uri))))
    (when (use-region-p)
      (setq arg (append arg (list :range (lsp--region-to-range (region-beginning) (region-end))))))
    (setq baton-last-run (lsp-get (baton-command "baton.run" arg) :runId))
    (message "Baton run %s" baton-last-run)))

(defun baton-answer (run-id answer)
  "Answer the question of RUN-ID."
  (interactive (list (read-string "Run: " baton-last-run) (read-string "Answer: ")))
  (baton-command "baton.run.answer" (list :runId run-id :answer answer)))

(defun baton-revert (run-id)
  "Undo what RUN-ID applied."
  (interactive (list (read-string "Run: " baton-last-run)))
  (baton-command "baton.run.revert" (list :runId run-id)))

(provide 'baton-lsp-mode)
;;; baton-lsp-mode.el ends here
