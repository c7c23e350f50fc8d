/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one place runner/ adapts libxml2: its functions, loaded with dlopen() when --junit or a pytest job's
 * report is first read (see basic/dlopen-util.h), and a cleanup helper. */

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "dlopen-util.h"
#include "macro.h"

DLSYM_PROTOTYPE(xmlAddChild);
DLSYM_PROTOTYPE(xmlDocCopyNode);
DLSYM_PROTOTYPE(xmlDocGetRootElement);
DLSYM_PROTOTYPE(xmlDocSetRootElement);
DLSYM_PROTOTYPE(xmlFreeDoc);
DLSYM_PROTOTYPE(xmlFreeNode);
DLSYM_PROTOTYPE(xmlHasProp);
DLSYM_PROTOTYPE(xmlNewChild);
DLSYM_PROTOTYPE(xmlNewDoc);
DLSYM_PROTOTYPE(xmlNewNode);
DLSYM_PROTOTYPE(xmlNewProp);
DLSYM_PROTOTYPE(xmlNewTextChild);
DLSYM_PROTOTYPE(xmlReadFile);
DLSYM_PROTOTYPE(xmlReadMemory);
DLSYM_PROTOTYPE(xmlSaveFormatFileEnc);
DLSYM_PROTOTYPE(xmlSetProp);
DLSYM_PROTOTYPE(xmlStrEqual);

/* Loads libxml2.so.2; -EOPNOTSUPP with *ret_error saying why when it is not there. */
int dlopen_libxml2(const char **ret_error);

static inline void xml_doc_freep(xmlDocPtr *d) {
        if (*d)
                sym_xmlFreeDoc(*d);
}
#define _cleanup_xml_doc_ _cleanup_(xml_doc_freep)

/* A JUnit element's numeric attribute ("tests", "failures", ...), 0 if absent; in runner-report.c. */
unsigned junit_attr_uint(xmlNodePtr n, const char *name);
/* The totals of a <testsuites> element: each the sum of its suites' own attribute, as Jenkins and GitLab read
 * them; the three the JUnit schema Jenkins validates against (the xunit plugin's junit-10.xsd) declares there
 * (skipped is a suite's attribute only). */
void junit_set_totals(xmlNodePtr root, unsigned tests, unsigned failures, unsigned errors);
/* A job's JUnit report, which the job could have replaced with anything: read as read_job_file_at() reads; in
 * runner-report.c. */
int junit_read_job_xml(const char *path, xmlDocPtr *ret);
/* Its first (or only) <testsuite>, or NULL. */
xmlNodePtr junit_first_suite(xmlDocPtr doc);
