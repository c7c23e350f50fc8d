/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "xml-util.h"

static void *libxml2;

DLSYM_FUNCTION(xmlAddChild);
DLSYM_FUNCTION(xmlDocCopyNode);
DLSYM_FUNCTION(xmlDocGetRootElement);
DLSYM_FUNCTION(xmlDocSetRootElement);
DLSYM_FUNCTION(xmlFreeDoc);
DLSYM_FUNCTION(xmlFreeNode);
DLSYM_FUNCTION(xmlHasProp);
DLSYM_FUNCTION(xmlNewChild);
DLSYM_FUNCTION(xmlNewDoc);
DLSYM_FUNCTION(xmlNewNode);
DLSYM_FUNCTION(xmlNewProp);
DLSYM_FUNCTION(xmlNewTextChild);
DLSYM_FUNCTION(xmlReadFile);
DLSYM_FUNCTION(xmlReadMemory);
DLSYM_FUNCTION(xmlSaveFormatFileEnc);
DLSYM_FUNCTION(xmlSetProp);
DLSYM_FUNCTION(xmlStrEqual);

int dlopen_libxml2(const char **ret_error) {
        return dlopen_many_sym(&libxml2, "libxml2.so.2", ret_error,
                               DLSYM_ARG(xmlAddChild),
                               DLSYM_ARG(xmlDocCopyNode),
                               DLSYM_ARG(xmlDocGetRootElement),
                               DLSYM_ARG(xmlDocSetRootElement),
                               DLSYM_ARG(xmlFreeDoc),
                               DLSYM_ARG(xmlFreeNode),
                               DLSYM_ARG(xmlHasProp),
                               DLSYM_ARG(xmlNewChild),
                               DLSYM_ARG(xmlNewDoc),
                               DLSYM_ARG(xmlNewNode),
                               DLSYM_ARG(xmlNewProp),
                               DLSYM_ARG(xmlNewTextChild),
                               DLSYM_ARG(xmlReadFile),
                               DLSYM_ARG(xmlReadMemory),
                               DLSYM_ARG(xmlSaveFormatFileEnc),
                               DLSYM_ARG(xmlSetProp),
                               DLSYM_ARG(xmlStrEqual),
                               NULL);
}
