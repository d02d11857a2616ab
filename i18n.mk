# UI translations (Babel gettext): messages.pot and .po files are committed, .mo files are compiled at install.
#   make i18n-extract   templates + kb/web/*.py -> kb/web/translations/messages.pot
#   make i18n-update    merge the .pot into kb/web/translations/{zh,en,vi}/LC_MESSAGES/messages.po (then translate;
#                       tests/test_i18n.py fails while any msgstr is empty or fuzzy)
#   make i18n-compile   .po -> .mo (run by make install)
I18N_DIR    := kb/web/translations
I18N_POT    := $(I18N_DIR)/messages.pot
I18N_LOCALES := zh en vi

i18n-extract: $(VENV)/.core-installed
	$(BIN)/pybabel -q extract -F babel.cfg -o $(I18N_POT) --sort-by-file --no-wrap \
	  --project=oncology-kb --copyright-holder="oncology-kb contributors" .

i18n-update: i18n-extract
	@for loc in $(I18N_LOCALES); do \
	  if [ -f $(I18N_DIR)/$$loc/LC_MESSAGES/messages.po ]; then \
	    $(BIN)/pybabel -q update -i $(I18N_POT) -d $(I18N_DIR) -l $$loc --no-wrap --ignore-obsolete; \
	  else \
	    $(BIN)/pybabel -q init -i $(I18N_POT) -d $(I18N_DIR) -l $$loc --no-wrap; \
	  fi; \
	done

i18n-compile: $(VENV)/.core-installed
	$(BIN)/pybabel -q compile -d $(I18N_DIR)
