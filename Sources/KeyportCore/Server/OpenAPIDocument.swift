/// The OpenAPI description served at `/openapi.yaml`.
enum OpenAPIDocument {
    static let yaml = """
        openapi: 3.0.3
        info:
          title: keyport
          version: \(BuildInfo.releaseVersion)
          description: Random keys from the OS CSPRNG and UN/LOCODE port data.
        paths:
          /key/{length}:
            get:
              summary: Random key of `length` bytes
              parameters:
                - {name: length, in: path, required: true, schema: {type: integer, minimum: 1}}
                - {name: encoding, in: query, required: false, schema: {type: string, enum: [hex, base64]}}
              responses:
                "200":
                  description: The key, raw or encoded
                  content:
                    application/octet-stream: {schema: {type: string, format: binary}}
                    text/plain: {schema: {type: string}}
                "400": {$ref: "#/components/responses/Error"}
          /ports:
            get:
              summary: Ports ordered by id, paged
              parameters:
                - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
                - {name: after, in: query, schema: {type: string, minLength: 1}}
                - {name: country, in: query, schema: {type: string, minLength: 1}}
              responses:
                "200":
                  description: One page
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [ports, next]
                        properties:
                          ports: {type: array, items: {$ref: "#/components/schemas/Port"}}
                          next: {type: string, nullable: true}
                "400": {$ref: "#/components/responses/Error"}
          /ports/{id}:
            get:
              summary: One port by id or by an id in its unlocs
              parameters:
                - {name: id, in: path, required: true, schema: {type: string}}
              responses:
                "200":
                  description: The port
                  content:
                    application/json: {schema: {$ref: "#/components/schemas/Port"}}
                "404": {$ref: "#/components/responses/Error"}
          /health:
            get:
              summary: Liveness
              responses:
                "200": {description: The process serves}
          /ready:
            get:
              summary: Readiness (ports loaded, not draining)
              responses:
                "200": {description: Ready}
                "503": {$ref: "#/components/responses/Error"}
          /metrics:
            get:
              summary: Prometheus text format 0.0.4
              responses:
                "200": {description: Metrics, content: {text/plain: {schema: {type: string}}}}
          /version:
            get:
              summary: Build version
              responses:
                "200":
                  description: Version
                  content:
                    application/json:
                      schema:
                        type: object
                        properties:
                          version: {type: string}
                          revision: {type: string}
                          swift_version: {type: string}
          /openapi.yaml:
            get:
              summary: This document
              responses:
                "200": {description: OpenAPI 3, content: {application/yaml: {schema: {type: string}}}}
        components:
          responses:
            Error:
              description: An error
              content:
                application/json:
                  schema:
                    type: object
                    required: [error, status]
                    properties:
                      error: {type: string}
                      status: {type: integer}
          schemas:
            Port:
              type: object
              required: [id, name, city, country]
              properties:
                id: {type: string}
                name: {type: string}
                city: {type: string}
                country: {type: string}
                alias: {type: array, items: {type: string}}
                regions: {type: array, items: {type: string}}
                coordinates: {type: array, items: {type: number}, minItems: 2, maxItems: 2}
                province: {type: string}
                timezone: {type: string}
                unlocs: {type: array, items: {type: string}}
                code: {type: string}

        """
}
