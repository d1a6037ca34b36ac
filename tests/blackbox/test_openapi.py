"""The OpenAPI document (SPEC §6): built in C from the annotations, served at
/openapi.json, printed byte for byte by `moontide openapi`, and the docs
routes that can be moved or turned off."""
import json
import os
import tempfile
import unittest

from harness import Server, ServerTestCase, app_path, run_cli

VALIDATION_422 = {"description": "Validation Error", "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}}


def json_response(schema, description="Successful Response"):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


class Document(ServerTestCase):
    app = "docs"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        status, headers, body = cls.server.request("GET", "/openapi.json")
        cls.status, cls.headers, cls.raw = status, headers, body
        cls.doc = json.loads(body)

    def test_served_as_json_and_printed_byte_for_byte_by_the_cli(self):
        self.assertEqual(self.status, 200)
        self.assertEqual(self.headers["content-type"], "application/json")
        code, out, err = run_cli("openapi", app_path("docs"), text=False)
        self.assertEqual((code, err), (0, b""))
        self.assertEqual(out, self.raw)

    def test_info_and_tags(self):
        self.assertEqual(self.doc["openapi"], "3.1.0")
        self.assertEqual(self.doc["info"], {"title": "Docs <test>", "version": "2.1.0",
                                            "description": "Shapes for the **OpenAPI** test."})
        self.assertEqual(self.doc["tags"], [{"name": "pets", "description": "Everything about pets"}])

    def test_paths_in_declaration_order_without_hidden_or_docs_routes(self):
        self.assertEqual(list(self.doc["paths"]), ["/pets", "/pets/{id}", "/plain", "/raw/{slug}", "/a-b", "/a_b"])
        self.assertEqual(list(self.doc["paths"]["/pets"]), ["get", "post"])
        self.assertEqual(list(self.doc["paths"]["/pets/{id}"]), ["get", "delete"])

    def test_operation_ids_are_unique_and_stable(self):
        ids = [op["operationId"] for path in self.doc["paths"].values() for op in path.values()]
        self.assertEqual(ids, ["get_pets", "post_pets", "get_pets_id", "delete_pets_id", "get_plain", "get_raw_slug",
                               "get_a_b", "get_a_b_2"])

    def test_parameters_from_every_place(self):
        op = self.doc["paths"]["/pets"]["get"]
        self.assertEqual(op["tags"], ["pets"])
        self.assertEqual(op["summary"], "List pets.")
        self.assertEqual(op["description"], "Filters with **markdown**.")
        self.assertEqual(op["parameters"], [
            {"name": "limit", "in": "query", "required": False, "description": "How many.", "example": 20,
             "schema": {"type": "integer", "maximum": 100, "default": 10, "examples": [20]}},
            {"name": "kind", "in": "query", "required": False, "schema": {"type": "string", "enum": ["cat", "dog"]}},
            {"name": "X-Trace", "in": "header", "required": False, "schema": {"type": "string"}},
            {"name": "session", "in": "cookie", "required": False, "schema": {"type": "string"}},
        ])
        self.assertEqual(op["responses"], {
            "200": json_response({"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}),
            "422": VALIDATION_422})

    def test_body_status_and_extra_responses(self):
        op = self.doc["paths"]["/pets"]["post"]
        self.assertEqual(op["requestBody"], {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/PetIn"}}}})
        self.assertEqual(op["responses"], {
            "201": json_response({"$ref": "#/components/schemas/Pet"}, "The stored pet."),
            "409": {"description": "A pet with this name exists."},
            "422": VALIDATION_422})

    def test_path_parameter_nullable_return_and_deprecated(self):
        op = self.doc["paths"]["/pets/{id}"]["get"]
        self.assertIs(op["deprecated"], True)
        self.assertEqual(op["summary"], "GET /pets/{id}")
        self.assertEqual(op["parameters"], [{"name": "id", "in": "path", "required": True,
                                             "schema": {"type": "integer", "minimum": 1}}])
        self.assertEqual(op["responses"]["200"], json_response(
            {"anyOf": [{"$ref": "#/components/schemas/Pet"}, {"type": "null"}]}))
        self.assertEqual(op["responses"]["404"], {"description": "Pet not found"})

    def test_mixed_literal_union_is_any_of_enums(self):
        params = self.doc["paths"]["/pets/{id}"]["delete"]["parameters"]
        self.assertEqual(params[1], {"name": "code", "in": "query", "required": True, "schema": {"anyOf": [
            {"type": "string", "enum": ["a"]}, {"type": "string", "enum": ["b"]}, {"type": "integer", "enum": [1]}]}})

    def test_a_handler_without_annotations(self):
        op = self.doc["paths"]["/plain"]["get"]
        self.assertEqual(op, {"summary": "GET /plain", "operationId": "get_plain",
                              "responses": {"200": json_response({})}})

    def test_path_parameters_of_a_handler_without_annotations_are_strings(self):
        self.assertEqual(self.doc["paths"]["/raw/{slug}"]["get"]["parameters"], [
            {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}])

    def test_classes_are_components_with_inheritance_resolved(self):
        schemas = self.doc["components"]["schemas"]
        self.assertEqual(list(schemas), ["Pet", "PetIn", "Owner", "HTTPValidationError", "ValidationError"])
        pet_in_properties = {
            "name": {"type": "string", "minLength": 1, "maxLength": 20, "description": "The pet's name.",
                     "examples": ["Rex"]},
            "kind": {"type": "string", "enum": ["cat", "dog"]},
            # optional fields accept null and are written as null when absent
            "age": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}], "default": 1},
            "tags": {"anyOf": [{"type": "array", "items": {"type": "string"}, "maxItems": 3, "uniqueItems": True},
                               {"type": "null"}]},
            "owner": {"anyOf": [{"$ref": "#/components/schemas/Owner"}, {"type": "null"}]},
            "extra": {"anyOf": [{"type": "object", "additionalProperties": {"type": "number"}}, {"type": "null"}]},
            "where": {"anyOf": [{"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
                                 "required": ["lat", "lon"]}, {"type": "null"}]},
            "nick": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        }
        self.assertEqual(schemas["PetIn"], {"type": "object", "properties": pet_in_properties,
                                            "required": ["name", "kind"], "title": "PetIn"})
        self.assertEqual(schemas["Pet"], {"type": "object", "properties": {**pet_in_properties, "id": {"type": "integer"}},
                                          "required": ["name", "kind", "id"], "title": "Pet",
                                          "description": "A pet as stored."})
        self.assertEqual(schemas["Owner"]["properties"], {"email": {"type": "string", "format": "email"}})
        self.assertEqual(schemas["HTTPValidationError"]["properties"]["detail"]["items"],
                         {"$ref": "#/components/schemas/ValidationError"})
        self.assertEqual(schemas["ValidationError"]["required"], ["loc", "msg", "type"])

    def test_every_ref_points_at_a_component(self):
        refs = []

        def walk(node):
            if isinstance(node, dict):
                if "$ref" in node:
                    refs.append(node["$ref"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)
        walk(self.doc)
        self.assertTrue(refs)
        for ref in refs:
            self.assertTrue(ref.startswith("#/components/schemas/"), ref)
            self.assertIn(ref.rsplit("/", 1)[1], self.doc["components"]["schemas"])


class DocsRoutes(unittest.TestCase):
    def test_default_paths(self):
        with Server(app_path("docs")) as server:
            for path, kind in (("/docs", "text/html"), ("/redoc", "text/html"), ("/openapi.json", "application/json")):
                status, headers, body = server.request("GET", path)
                self.assertEqual(status, 200, path)
                self.assertTrue(headers["content-type"].startswith(kind), path)
            status, headers, body = server.request("GET", "/docs")
            page = body.decode()
            self.assertIn("<title>Docs &lt;test&gt; - Swagger UI</title>", page)
            self.assertIn('url: "/openapi.json"', page)
            self.assertIn("validatorUrl: null", page)
            self.assertNotIn("http://", page)
            self.assertNotIn("https://", page)
            self.assertEqual(headers["content-security-policy"], "img-src 'self' data:")
            status, headers, body = server.request("GET", "/redoc")
            self.assertEqual(headers["content-security-policy"], "img-src 'self' data:")
            self.assertIn('<redoc spec-url="/openapi.json">', body.decode())
            self.assertNotIn("https://", body.decode())
            status, _, _ = server.request("GET", "/_moontide/docs/nothing.js")
            self.assertEqual(status, 404)

    def test_moved_and_turned_off(self):
        with Server(app_path("docs_moved.lua")) as server:
            self.assertEqual(server.request("GET", "/api/docs")[0], 200)
            self.assertEqual(server.request("GET", "/api/openapi.json")[0], 200)
            self.assertIn('url: "/api/openapi.json"', server.request("GET", "/api/docs")[2].decode())
            self.assertEqual(server.request("GET", "/redoc")[0], 404)
            self.assertEqual(server.request("GET", "/openapi.json")[0], 404)
            self.assertEqual(json.loads(server.request("GET", "/docs")[2]), {"mine": True})
            doc = json.loads(server.request("GET", "/api/openapi.json")[2])
            self.assertEqual(list(doc["paths"]), ["/docs"])
        with Server(app_path("docs_off.lua")) as server:
            for path in ("/docs", "/redoc", "/openapi.json", "/_moontide/docs/swagger-ui.css"):
                self.assertEqual(server.request("GET", path)[0], 404, path)

    def test_a_route_on_the_docs_path_is_a_load_error_saying_what_to_do(self):
        code, out, err = run_cli("check", app_path("broken/docs_taken.lua"))
        self.assertEqual(code, 1)
        self.assertIn("GET /docs", out)
        self.assertIn("docs_url = false", out)

    def test_bad_settings_are_load_errors(self):
        for opts, message in (('docs_url = "docs"', "must be a path starting with '/'"),
                              ("docs_url = true", "must be a string or false"),
                              ("colour = 1", "unknown option 'colour'")):
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "app.lua")
                with open(path, "w") as f:
                    f.write('local m = require "moontide"\nreturn m.app { %s }\n' % opts)
                code, out, err = run_cli("check", path)
            self.assertEqual(code, 1, opts)
            self.assertIn(message, out + err, opts)


if __name__ == "__main__":
    unittest.main()
